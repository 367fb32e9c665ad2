"""The drawing & correction app (Voila / JupyterLab): `digitlab.app.widgets.DrawingApp().show()`.

Nothing is imported here, so `digitlab app` (digitlab.app.launch) starts without the widgets.
"""
