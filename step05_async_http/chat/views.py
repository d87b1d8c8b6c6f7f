"""The chat page (step01): one room; from step02 its messages arrive by WebSocket, from
step03 its notifications too, both sockets opened with a JWT."""

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render


@login_required
def room_page(request):
    """Show the room chosen with `?room=<id>` (default: the caller's first room)."""
    rooms = request.user.rooms.all()
    room_id = request.GET.get("room")
    if room_id is None:
        room = rooms.first()
    else:
        is_id = room_id.isascii() and room_id.isdigit()  # "²" is a digit to isdigit(), not to int()
        room = rooms.filter(pk=room_id).first() if is_id else None
        if room is None:
            raise Http404("No such room among yours.")
    return render(request, "chat/room.html", {"rooms": rooms, "room": room})
