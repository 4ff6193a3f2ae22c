"""Codes of the coded fields of the output layers, each with its German and English label.

A label reads ``short`` or ``short: explanation``; legends show the short part.

>>> ROUTE_STATUS["in_service"]
('in Betrieb', 'in service')
"""

from __future__ import annotations

#: A text in German and English.
Text = tuple[str, str]

FIBRE_STATUS: dict[str, Text] = {
    "connected": ("angeschlossen: ein Standort im Gebäude erreicht die Zentrale nur über gebaute oder betriebene "
                  "Trassen", "connected: a site in the building reaches the hub over built or in-service routes only"),
    "reachable": ("erreichbar: eine gebaute oder betriebene Trasse liegt in Reichweite, aber kein Standort",
                  "reachable: a built or in-service route is within reach, but no site"),
    "planned": ("geplant: ein Standort erreicht die Zentrale nur über geplante Trassen, oder nur geplante Trassen "
                "liegen in Reichweite", "planned: a site reaches the hub only over planned routes, or only planned "
                "routes are within reach"),
    "none": ("nicht erreichbar: keine Trasse in Reichweite", "not reachable: no route within reach"),
}
ROUTE_KIND: dict[str, Text] = {
    "trench": ("Graben: neue Trasse im Tiefbau", "trench: new route dug into the ground"),
    "duct": ("Leerrohr: vorhandenes Leerrohr", "duct: existing duct"),
    "aerial": ("Freileitung", "aerial"),
    "unknown": ("unbekannt: der Plan nennt keine Bauweise", "unknown: the plan names no kind"),
}
ROUTE_STATUS: dict[str, Text] = {"planned": ("geplant", "planned"), "built": ("gebaut", "built"),
                                 "in_service": ("in Betrieb", "in service")}
NODE_KIND: dict[str, Text] = {
    "hub": ("Zentrale: Netzknoten (PoP), von dem das Netz ausgeht", "hub: point of presence the network starts from"),
    "distribution": ("Verteilerpunkt", "distribution point"),
    "site": ("angeschlossener Standort", "connected site"),
}
SEVERITY: dict[str, Text] = {"error": ("Fehler", "error"), "warning": ("Warnung", "warning"), "info": ("Hinweis", "note")}
CHANGE: dict[str, Text] = {"added": ("neu", "added"), "removed": ("entfernt", "removed"),
                           "modified": ("geändert", "modified")}
HEIGHT_SOURCE: dict[str, Text] = {
    "measured": ("gemessen (z. B. LoD2 measuredHeight)", "measured (e.g. LoD2 measuredHeight)"),
    "source": ("Höhe aus der Quelle (z. B. OSM height)", "height given by the source (e.g. OSM height)"),
    "storeys": ("Geschosse × Geschosshöhe", "storeys × storey height"),
    "default": ("Standardhöhe der Gebäudefunktion", "default height of the building function"),
}
HEADING_SOURCE: dict[str, Text] = {
    "pose": ("Kamerapose (GPano PoseHeadingDegrees)", "camera pose (GPano PoseHeadingDegrees)"),
    "image_direction": ("Bildrichtung des Kompasses (EXIF GPSImgDirection)", "compass image direction (EXIF GPSImgDirection)"),
    "gps_track": ("Fahrtrichtung des GPS-Empfängers (EXIF GPSTrack)", "direction of travel of the GPS receiver (EXIF GPSTrack)"),
    "source": ("Blickrichtung aus der Quelle (Spalte oder Attribut)", "heading given by the source (column or attribute)"),
    "derived": ("abgeleitet: Richtung zum nächsten Bild der Fahrt, nicht gemessen",
                "derived: direction to the next picture of the drive, not measured"),
}
BUILDING_SOURCE: dict[str, Text] = {"alkis": ("ALKIS Hausumringe", "ALKIS building outlines"),
                                    "osm": ("OpenStreetMap", "OpenStreetMap"), "generic": ("andere Vektordatei", "other vector file")}
RUN_STATUS: dict[str, Text] = {"ok": ("erfolgreich", "succeeded"), "failed": ("fehlgeschlagen", "failed")}
