"""The landing page at `/`: what this server is and where its doors are.

`make run` used to open on a 404. A person who starts the project (a developer, a merchant
trying the demo) lands here and finds the admin, the API docs, the probes and, in debug
only, the simulator console. It is served with debug off too, without the console link,
and reads nothing from the database, so it costs a probe's worth of work.
"""

from django.conf import settings
from django.shortcuts import render
from django.views.decorators.http import require_GET


@require_GET
def landing(request):
    """The links a newcomer needs; the console only where the simulator is mounted."""
    return render(request, "wxbackend/landing.html", {
        "console_enabled": settings.WECHAT_SIMULATOR_ENABLED,
        "debug": settings.DEBUG,
    })
