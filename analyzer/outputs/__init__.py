"""Everything that writes or draws: report.json and timeline.csv (``report``, ``report_schema``),
the HTML page (``report_html``, ``thumbnails``, ``partners_text``), ELAN tiers (``eaf``), the
annotated video (``annotate``, ``overlay``), the moments reel (``reel``) and the coach's view
across sessions (``progress``, ``progress_page``). These read a finished report (or report.json
files) and compute no measure of their own; nothing in the core imports them."""
