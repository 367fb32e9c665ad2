"""The app's stylesheet, shipped inside an HTML widget so it works in Voila and JupyterLab alike."""

STYLESHEET = """
<style>
.dl-app { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1d2433;
  max-width: 1080px; }
.dl-app .widget-label, .dl-app .widget-html-content { color: #1d2433; }
.dl-title h2 { margin: 0; font-size: 22px; font-weight: 650; }
.dl-title p { margin: 2px 0 0; color: #5b6678; font-size: 13px; }
.dl-pad { cursor: crosshair; touch-action: none; border-radius: 8px; max-width: 100%;
  height: auto !important; flex-shrink: 1;
  box-shadow: 0 1px 3px rgba(20, 30, 50, .12); background-color: #fff;
  background-image: url("data:image/svg+xml;utf8,<svg xmlns='http://www.w3.org/2000/svg' \
width='100%25' height='100%25'><rect x='8%25' y='10%25' width='84%25' height='80%25' fill='none' \
stroke='%23d5dbe5' stroke-width='1.5' stroke-dasharray='6 6'/></svg>");
  background-size: 100% 100%; background-repeat: no-repeat; }
.dl-pad:focus { outline: 3px solid #9cc3ff; outline-offset: 2px; }
.dl-card { background: #f6f8fb; border: 1px solid #e1e6ee; border-radius: 10px; padding: 12px; }
.dl-result { min-height: 150px; }
.dl-neutral { color: #394356; font-weight: 600; }
.dl-interval { color: #7a8496; font-size: 11px; }
.dl-models { color: #394356; font-size: 13px; margin-bottom: 6px; }
.dl-caption { color: #5b6678; font-size: 13px; text-transform: uppercase; letter-spacing: .04em; }
.dl-digit { font-size: 84px; line-height: 1; font-weight: 700; margin: 4px 0; }
.dl-number { font-size: 64px; letter-spacing: .08em; }
.dl-sure { color: #1e7b45; font-weight: 600; }
.dl-unsure { color: #9a5b00; background: #fff4dc; border: 1px solid #f3d28b; border-radius: 6px;
  padding: 4px 8px; font-weight: 600; }
.dl-unsure-card .dl-digit { color: #9a5b00; }
.dl-bars { margin-top: 10px; }
.dl-bar-row { display: flex; align-items: center; gap: 8px; margin: 4px 0; font-size: 15px; }
.dl-bar-digit { width: 16px; font-weight: 700; }
.dl-bar { flex: 1; height: 14px; background: #e4e9f1; border-radius: 7px; overflow: hidden; }
.dl-bar > div { height: 100%; background: #2f80ed; border-radius: 7px; }
.dl-bar-value { width: 56px; text-align: right; font-variant-numeric: tabular-nums; }
.dl-model { color: #8a94a6; font-size: 12px; margin-top: 6px; }
.dl-chips { display: flex; gap: 6px; flex-wrap: wrap; }
.dl-chip { background: #e8f1ff; border-radius: 6px; padding: 2px 8px; font-size: 20px;
  font-weight: 700; }
.dl-chip small { font-size: 11px; color: #5b6678; margin-left: 4px; font-weight: 400; }
.dl-chip-unsure { background: #fff4dc; }
.dl-message { min-height: 24px; font-size: 14px; padding: 4px 8px; border-radius: 6px; }
.dl-message-info { color: #33415c; }
.dl-message-ok { color: #1e7b45; background: #e7f6ec; }
.dl-message-warn { color: #8a5300; background: #fff4dc; }
.dl-message-error { color: #a12622; background: #fdecea; }
.dl-hint { color: #6b7689; font-size: 12.5px; }
.dl-keys kbd { background: #fff; border: 1px solid #c9d0db; border-bottom-width: 2px;
  border-radius: 4px; padding: 0 5px; font-size: 12px; font-family: inherit; }
.dl-section { font-weight: 650; font-size: 15px; margin: 6px 0 2px; }
.dl-counts { display: flex; gap: 4px; flex-wrap: wrap; }
.dl-count { display: flex; flex-direction: column; align-items: center; min-width: 40px;
  background: #f0f3f8; border-radius: 6px; padding: 2px 4px; font-size: 12px; }
.dl-count b { font-size: 15px; }
.dl-count-done { background: #e7f6ec; color: #1e7b45; }
.dl-history { gap: 6px; min-height: 40px; flex-wrap: wrap; }
.dl-slot { background: #f6f8fb; border: 1px solid #e1e6ee; border-radius: 8px; padding: 4px; }
.dl-slot img { image-rendering: pixelated; border-radius: 4px; }
.dl-model-input img, img.dl-model-input { image-rendering: pixelated; border-radius: 6px; }
.dl-source { font-size: 10.5px; color: #6b7689; text-align: center; }
.dl-source-fix { color: #9a5b00; font-weight: 600; }
.dl-small-button { font-size: 11px; padding: 0 2px; }
.dl-label-buttons .widget-button { width: 38px; font-weight: 700; font-size: 15px; }
.dl-prompt { font-size: 18px; }
.dl-prompt b { font-size: 40px; color: #2f80ed; margin: 0 6px; }
.dl-compare { border-collapse: collapse; font-size: 14px; margin: 6px 0; }
.dl-compare th, .dl-compare td { padding: 3px 10px; border-bottom: 1px solid #e1e6ee;
  text-align: right; }
.dl-compare th:first-child, .dl-compare td:first-child { text-align: left; }
.dl-better { color: #1e7b45; font-weight: 600; }
.dl-worse { color: #a12622; font-weight: 600; }
</style>
"""

# Right-click on the pad clears it, without the browser's context menu. ipycanvas sends no mouse
# button, so a capture listener on the page takes the non-primary buttons' presses away from the
# pad's own listeners (no stroke starts) and presses Esc on the pad instead (keys.py: Esc clears).
# An HTML widget does not run <script>, but it does run an image's onerror handler (no double
# quotes or ampersands inside). The flag keeps one set of listeners however often it renders.
PAD_MOUSE_SCRIPT = """<img src="data:," alt="" style="display:none" onerror="
if (!window.dlPadMouse) {
  window.dlPadMouse = true;
  const padOf = event => event.target.closest ? event.target.closest('.dl-pad') : null;
  window.addEventListener('contextmenu', event => {
    if (padOf(event)) { event.preventDefault(); }
  }, true);
  window.addEventListener('mousedown', event => {
    const pad = padOf(event);
    if (!pad || event.button === 0) { return; }
    event.stopPropagation();
    event.preventDefault();
    if (event.button === 2) {
      pad.focus();
      pad.dispatchEvent(new KeyboardEvent('keydown', {key: 'Escape', bubbles: true}));
    }
  }, true);
  window.addEventListener('mouseup', event => {
    if (padOf(event)) { if (event.button !== 0) { event.stopPropagation(); } }
  }, true);
}">"""
