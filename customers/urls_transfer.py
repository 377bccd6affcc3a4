from django.urls import path

from customers.views import transfer

urlpatterns = [
    path("import/", transfer.import_upload, name="import_upload"),
    path("imports/", transfer.import_list, name="import_list"),
    path("import/<uuid:uuid>/", transfer.import_detail, name="import_detail"),
    path("import/<uuid:uuid>/map/", transfer.import_map, name="import_map"),
    path("import/<uuid:uuid>/preview/", transfer.import_preview, name="import_preview"),
    path("import/<uuid:uuid>/start/", transfer.import_start, name="import_start"),
    path("import/<uuid:uuid>/progress/", transfer.import_progress, name="import_progress"),
    path("import/<uuid:uuid>/rejected.csv", transfer.import_rejected, name="import_rejected"),
    path("import/<uuid:uuid>/undo/", transfer.import_undo, name="import_undo"),
    path("export/", transfer.customer_export, name="export"),
    path("export/<uuid:uuid>/", transfer.export_detail, name="export_detail"),
    path("export/<uuid:uuid>/progress/", transfer.export_progress, name="export_progress"),
    path("export/<uuid:uuid>/download/", transfer.export_download, name="export_download"),
]
