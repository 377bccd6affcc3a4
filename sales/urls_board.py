from django.urls import path

from sales.views import board

# Mounted at /sales/pipeline/ by sales/urls.py (names "sales:<name>").
urlpatterns = [
    path("", board.board, name="board"),
    path("move/", board.board_move, name="board_move"),
]
