"""CSS for the chat and embed pages (kept in Python so it ships with the package)."""

STYLE = """
.nd-header h1 { margin: 0; font-size: 1.5rem; }
.nd-header p { margin: .2rem 0 0; color: var(--body-text-color-subdued); }
.nd-header a { color: var(--link-text-color); }
.nd-transcript { display: flex; flex-direction: column; gap: .9rem; min-height: 8rem; }
.nd-welcome, .nd-msg { padding: .7rem .9rem; border-radius: .6rem;
  background: var(--background-fill-secondary); border: 1px solid var(--border-color-primary); }
.nd-msg.nd-warn { border-color: #d97706; }
.nd-msg.nd-error { border-color: #dc2626; }
.nd-turn { display: flex; flex-direction: column; gap: .4rem; }
.nd-q { align-self: flex-end; max-width: 85%; padding: .45rem .8rem; border-radius: .8rem;
  background: var(--color-accent-soft); font-weight: 600; overflow-wrap: anywhere; }
.nd-answer { line-height: 1.65; overflow-wrap: anywhere; }
.nd-abstain { color: var(--body-text-color-subdued); font-style: italic; }
.nd-caret::after { content: "▍"; animation: nd-blink 1s steps(2) infinite; }
@keyframes nd-blink { 50% { opacity: 0; } }
details.nd-cite { display: inline; }
details.nd-cite > summary { display: inline-flex; list-style: none; }
details.nd-cite > summary::-webkit-details-marker { display: none; }
.nd-chip { align-items: center; gap: .3em; padding: 0 .5em; margin: 0 .1em; border-radius: 999px;
  font-size: .78em; line-height: 1.7; white-space: nowrap; cursor: pointer; vertical-align: baseline;
  background: var(--background-fill-secondary); border: 1px solid var(--border-color-accent);
  color: var(--body-text-color); }
span.nd-chip { display: inline-flex; cursor: default; opacity: .8; }
details.nd-cite[open] > summary { background: var(--color-accent-soft); }
.nd-chip .nd-num, .nd-card .nd-num { font-weight: 700; color: var(--color-accent); }
details.nd-cite[open] > .nd-card { display: block; margin: .35rem 0 .6rem; }
.nd-card { padding: .6rem .75rem; border-radius: .6rem; border: 1px solid var(--border-color-primary);
  background: var(--background-fill-secondary); font-size: .9rem; line-height: 1.5;
  white-space: normal; }
.nd-card + .nd-card { margin-top: .55rem; }
.nd-card-head { font-size: .85em; color: var(--body-text-color-subdued); }
.nd-outlet { font-weight: 600; color: var(--body-text-color); }
.nd-title { font-weight: 600; margin: .15rem 0 .3rem; overflow-wrap: anywhere; }
.nd-title a { color: var(--link-text-color); }
.nd-url { font-weight: 400; font-size: .85em; color: var(--body-text-color-subdued); }
.nd-passage { margin: 0; padding: .1rem 0 .1rem .6rem; border-left: 3px solid var(--border-color-accent);
  white-space: pre-line; overflow-wrap: anywhere; }
.nd-passage mark { background: #fde68a; color: #111827; padding: 0 .1em; border-radius: .2em; }
.nd-whole > summary, details.nd-source > summary { cursor: pointer; font-size: .85em;
  color: var(--body-text-color-subdued); margin-top: .25rem; }
details.nd-source > summary { font-size: .9rem; color: var(--body-text-color); padding: .2rem 0;
  overflow-wrap: anywhere; }
details.nd-source[open] > .nd-card { margin: .2rem 0 .5rem; }
.nd-also, .nd-muted { font-size: .85em; color: var(--body-text-color-subdued); }
.nd-unsupported { font-size: .75em; color: #b45309; border: 1px solid #d97706; border-radius: .3em;
  padding: 0 .3em; }
.nd-filters { font-size: .9rem; }
.nd-note, .nd-notice { font-size: .9rem; margin-top: .25rem; padding: .35rem .6rem; border-radius: .4rem;
  background: #fef3c7; color: #78350f; }
.nd-status { font-size: .82rem; color: var(--body-text-color-subdued); }
.nd-sources h3, .nd-corpus h3 { margin: 0 0 .4rem; font-size: 1rem; }
.nd-inline-sources { margin-top: .3rem; font-size: .9rem; }
.nd-inline-sources > summary { cursor: pointer; color: var(--body-text-color-subdued); }
.nd-corpus-line { margin: 0 0 .4rem; }
.nd-timeline { width: 100%; height: auto; max-height: 9rem; }
.nd-timeline .nd-axis { font-size: 9px; fill: var(--body-text-color-subdued); }
.nd-timeline .nd-base { stroke: var(--border-color-primary); }
.nd-legend { display: flex; flex-wrap: wrap; gap: .2rem .8rem; font-size: .8rem; }
.nd-key i { display: inline-block; width: .7rem; height: .7rem; border-radius: .15rem;
  margin-right: .3rem; vertical-align: -.05rem; }
.nd-examples button { white-space: normal; text-align: left; }
/* ui/storage.py marks <html> when the browser denies the page storage; the note then shown takes
   its room from the scrolling transcript, through a variable, as Gradio's scoped copy of a rule
   naming html would never match. */
html:not(.nd-no-storage) #nd-storage-note { display: none !important; }
html.nd-no-storage { --nd-note-room: 3.5rem; }
.nd-storage-note { margin: 0; font-size: .78rem; color: var(--body-text-color-subdued); }
.nd-embed-scroll { max-height: calc(100vh - 240px - var(--nd-note-room, 0px)); min-height: 9rem;
  overflow-y: auto; }
@media (max-width: 520px) {
  .nd-q { max-width: 100%; }
  .nd-card { padding: .5rem; }
  .nd-header h1 { font-size: 1.25rem; }
}
"""
