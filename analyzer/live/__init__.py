"""Live practice: ``session`` is the one live core (the batch pipeline frame by frame, each
person's signals finished as batch finishes them, at the real analysis rate), driven by the
desktop loop (``desktop``: camera or video -> overlay window / MP4) and by the API's browser
practice route (``api.routes.practice``)."""
