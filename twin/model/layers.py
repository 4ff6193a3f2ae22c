"""Field and layer specifications of every output layer, with the texts a user of the model reads.

Every title, description and value label is given in German (the default) and
English; the writers pick one by ``[output] language``. A value label reads
``short`` or ``short: explanation``; legends show the short part.

>>> LAYERS["buildings"].title_in("en"), LAYERS["buildings"].field("height_m").title_in("de")
('Buildings', 'Höhe')
>>> LAYERS["fibre_routes"].field("kind").legend_label("trench", "en")
'trench'
"""

from __future__ import annotations

from collections.abc import Mapping

from twin.model.fields import DTYPES, LANGUAGES, Field, FieldFamily, Layer, in_language
from twin.model.value_labels import (
    BUILDING_SOURCE,
    CHANGE,
    FIBRE_STATUS,
    HEADING_SOURCE,
    HEIGHT_SOURCE,
    NODE_KIND,
    ROUTE_KIND,
    ROUTE_STATUS,
    RUN_STATUS,
    SEVERITY,
    Text,
)

#: The layer specifications are the module's constants; these are what other modules import from it.
__all__ = ["DTYPES", "LANGUAGES", "LAYERS", "TEXTS", "Field", "FieldFamily", "Layer", "in_language", "text"]

#: Further texts of the published model (QGIS project, styles, documentation tables), by key.
TEXTS: dict[str, Text] = {
    "project": ("Stadtmodell", "City model"),
    "group_quality": ("Qualität", "Quality"),
    "group_fibre": ("Glasfaser", "Fibre"),
    "group_panoramas": ("Panoramen", "Panoramas"),
    "group_buildings": ("Gebäude", "Buildings"),
    "relation_building_connections": ("Hausanschlüsse des Gebäudes", "Connections of the building"),
    "relation_node_connections": ("Hausanschlüsse des Knotens", "Connections of the node"),
    "relation_building_views": ("Panoramen des Gebäudes", "Panoramas of the building"),
    "relation_panorama_views": ("Gebäude des Panoramas", "Buildings of the panorama"),
    "legend_other": ("sonstige", "other"),
    "legend_no_value": ("ohne Angabe", "not given"),
    "unit": ("Einheit", "Unit"),
    "default_style": ("Standardstil", "default style"),
    "layer_styles": ("Standardstile der Ebenen für QGIS", "Default styles of the layers for QGIS"),
}


def text(key: str, language: str) -> str:
    """The text `key` of :data:`TEXTS` in `language`.

    >>> text("project", "en")
    'City model'
    """
    return in_language(TEXTS[key], language)


def _split(labels: Mapping[str, Text]) -> dict[str, dict[str, str]]:
    return {"values": {k: v[0] for k, v in labels.items()}, "values_en": {k: v[1] for k, v in labels.items()}}




def _f(name: str, dtype: str, title: Text, description: Text, unit: str = "",
       values: Mapping[str, Text] | None = None) -> Field:
    labels = _split(values or {})
    return Field(name, dtype, title[0], description[0], unit, labels["values"], title[1], description[1],
                 labels["values_en"])


def _layer(name: str, geometry_type: str | None, title: Text, description: Text, fields: tuple[Field, ...],
           id_field: str | None = None, families: tuple[FieldFamily, ...] = ()) -> Layer:
    return Layer(name, geometry_type, title[0], description[0], fields, id_field, title[1], description[1], families)


BUILDINGS = _layer(
    "buildings", "MultiPolygon", ("Gebäude", "Buildings"),
    ("Gebäudegrundrisse (LoD1) mit Funktion, Höhe, Glasfaser- und Panoramabezug.",
     "Building footprints (LoD1) with function, height, fibre and panorama links."),
    (
        _f("building_id", "string", ("Gebäude-ID", "Building ID"),
           ("Stabile Kennung aus der Quelle (ALKIS OI, OSM way/relation).",
            "Stable identifier from the source (ALKIS OI, OSM way/relation).")),
        _f("source", "string", ("Quelle", "Source"),
           ("Herkunft des Grundrisses (alkis, osm, generic).", "Origin of the footprint (alkis, osm, generic)."),
           values=BUILDING_SOURCE),
        _f("function_code", "string", ("Funktionsschlüssel", "Function code"),
           ("ALKIS-Gebäudefunktion (Schlüssel, z. B. 1000).", "ALKIS building function (code, e.g. 1000).")),
        _f("function_label", "string", ("Gebäudefunktion", "Building function (German)"),
           ("Bezeichnung der Gebäudefunktion.", "German name of the building function, as in the official code list.")),
        _f("function_label_en", "string", ("Gebäudefunktion (englisch)", "Building function"),
           ("Englische Bezeichnung der Gebäudefunktion.", "English name of the building function.")),
        _f("storeys", "int32", ("Geschosse", "Storeys"),
           ("Anzahl oberirdischer Geschosse, wo bekannt.", "Number of storeys above ground, where known.")),
        _f("height_m", "float64", ("Höhe", "Height"),
           ("Gebäudehöhe für das LoD1-Modell in Metern.", "Building height of the LoD1 model in metres."), "m"),
        _f("height_source", "string", ("Höhenquelle", "Height source"),
           ("Woher die Höhe stammt.", "Where the height comes from."), values=HEIGHT_SOURCE),
        _f("area_m2", "float64", ("Grundfläche", "Footprint area"),
           ("Fläche des Grundrisses in Quadratmetern.", "Area of the footprint in square metres."), "m2"),
        _f("street", "string", ("Straße", "Street"),
           ("Straßenname der Adresse, wo bekannt.", "Street name of the address, where known.")),
        _f("house_number", "string", ("Hausnummer", "House number"),
           ("Hausnummer der Adresse, wo bekannt.", "House number of the address, where known.")),
        _f("postcode", "string", ("Postleitzahl", "Postcode"),
           ("Postleitzahl der Adresse, wo bekannt.", "Postcode of the address, where known.")),
        _f("district", "string", ("Stadtteil", "District"),
           ("Stadtteil oder Ortsbezirk, in dem der Grundriss liegt (aus [city] districts; leer ohne diese Ebene "
            "oder außerhalb jedes Stadtteils).",
            "District the footprint lies in (from [city] districts; empty without that layer or outside every "
            "district).")),
        _f("fibre_status", "string", ("Glasfaserstatus", "Fibre status"),
           ("Anbindung an das Glasfasernetz der Stadt.", "Connection to the town's fibre network."),
           values=FIBRE_STATUS),
        _f("fibre_distance_m", "float64", ("Abstand Glasfaser", "Distance to fibre"),
           ("Abstand zur nächsten Trasse in Metern.", "Distance to the nearest route in metres."), "m"),
        _f("network_distance_m", "float64", ("Netzentfernung", "Network distance"),
           ("Entfernung des Standorts im Gebäude von der Zentrale nur entlang gebauter oder betriebener Trassen in "
            "Metern (der nächste Standort, wenn es mehrere gibt); leer, wo kein solcher Weg hinführt.",
            "Distance of the building's site from the hub along built or in-service routes only, in metres (the "
            "nearest site where there are several); empty where no such way leads there."), "m"),
        _f("planned_network_distance_m", "float64", ("Netzentfernung mit Planung", "Network distance with planned routes"),
           ("Dieselbe Entfernung, wenn geplante Trassen mitzählen, in Metern; leer, wo keine Trasse hinführt.",
            "The same distance when planned routes count too, in metres; empty where no route leads there."), "m"),
        _f("panorama_count", "int32", ("Panoramen", "Panoramas"),
           ("Panoramen, die das Gebäude zeigen.", "Panoramas that show the building.")),
        _f("last_captured_at", "datetime", ("Zuletzt erfasst", "Last captured"),
           ("Zeitpunkt (UTC) des jüngsten Panoramas des Gebäudes.", "Time (UTC) of the newest panorama of the building.")),
        _f("source_attributes", "json", ("Quellattribute", "Source attributes"),
           ("Alle weiteren Attribute der Quelle als JSON.", "All further attributes of the source as JSON.")),
    ),
    id_field="building_id",
)

PANORAMAS = _layer(
    "panoramas", "PointZ", ("Panoramen", "Panoramas"),
    ("Ein Punkt je Panoramabild der Befahrung, Aufnahmeposition mit Höhe.",
     "One point per panorama picture of the capture drive: the camera position with its height."),
    (
        _f("panorama_id", "string", ("Panorama-ID", "Panorama ID"),
           ("Kennung des Bildes beim Anbieter.", "Identifier of the picture at the vendor.")),
        _f("image_name", "string", ("Bildname", "Image name"),
           ("Dateiname oder Name des Bildes.", "File name or name of the picture.")),
        _f("captured_at", "datetime", ("Aufnahmezeit", "Captured at"),
           ("Aufnahmezeitpunkt in UTC.", "Time of capture in UTC.")),
        _f("sequence_id", "string", ("Fahrt", "Drive"),
           ("Kennung der Aufnahmefahrt (Sequenz).", "Identifier of the capture drive (sequence).")),
        _f("heading_deg", "float64", ("Blickrichtung", "Heading"),
           ("Richtung der Bildmitte, Grad von Gitternord des Koordinatensystems im Uhrzeigersinn [0, 360).",
            "Direction of the picture's centre, degrees clockwise from grid north of the coordinate system [0, 360)."),
           "deg"),
        _f("heading_source", "string", ("Herkunft der Blickrichtung", "Heading source"),
           ("Woher die Blickrichtung stammt; derived: aus der Fahrt abgeleitet, nicht gemessen.",
            "Where the heading comes from; derived: taken from the drive, not measured."), values=HEADING_SOURCE),
        _f("pitch_deg", "float64", ("Neigung", "Pitch"), ("Nickwinkel der Kamera in Grad.", "Pitch of the camera in degrees."),
           "deg"),
        _f("roll_deg", "float64", ("Rollwinkel", "Roll"), ("Rollwinkel der Kamera in Grad.", "Roll of the camera in degrees."),
           "deg"),
        _f("altitude_m", "float64", ("Höhe", "Altitude"), ("Höhe der Kamera in Metern.", "Height of the camera in metres."),
           "m"),
        _f("gnss_accuracy_m", "float64", ("GNSS-Genauigkeit", "GNSS accuracy"),
           ("Horizontale Lagegenauigkeit in Metern.", "Horizontal position accuracy in metres."), "m"),
        _f("gnss_jump", "bool", ("GNSS-Sprung", "GNSS jump"),
           ("Wahr, wenn die Position mehr als max_deviation_m neben der Linie durch die Nachbarbilder liegt und die "
            "Fahrt danach auf diese Linie zurückkehrt (Mehrwegeempfang); solche Panoramen zählen nicht für Fahrspuren, "
            "Abdeckung und Gebäude.",
            "True when the position lies more than max_deviation_m beside the line through the neighbouring pictures "
            "and the drive returns to that line afterwards (multipath reception); such panoramas count neither for "
            "tracks, coverage nor buildings.")),
    ),
    id_field="panorama_id",
)

PANORAMA_VIEWS = _layer(
    "panorama_views", None, ("Panoramablicke", "Panorama views"),
    ("Welches Panorama welches Gebäude zeigt, mit Entfernung und Richtung; panorama_count eines Gebäudes ist die "
     "Zahl seiner Zeilen. Die Sichtweite (view_distance_m) und der Blickwinkel (view_fov_deg) des Laufs stehen in "
     "runs.counts unter settings.",
     "Which panorama shows which building, with distance and direction; a building's panorama_count is the number of "
     "its rows. The view distance (view_distance_m) and field of view (view_fov_deg) of the run are in runs.counts "
     "under settings."),
    (
        _f("panorama_id", "string", ("Panorama-ID", "Panorama ID"), ("Panorama, das das Gebäude zeigt.",
                                                                      "Panorama that shows the building.")),
        _f("building_id", "string", ("Gebäude-ID", "Building ID"), ("Gezeigtes Gebäude.", "Building shown.")),
        _f("distance_m", "float64", ("Entfernung", "Distance"),
           ("Entfernung vom Panorama zum nächsten Punkt des Gebäudes in Metern (0: das Panorama liegt im Grundriss).",
            "Distance from the panorama to the building's nearest point in metres (0: the panorama lies in the "
            "footprint)."), "m"),
        _f("bearing_deg", "float64", ("Richtung", "Bearing"),
           ("Richtung vom Panorama zum nächsten Punkt des Gebäudes, Grad von Gitternord im Uhrzeigersinn [0, 360); "
            "leer, wenn das Panorama im Grundriss liegt.",
            "Direction from the panorama to the building's nearest point, degrees clockwise from grid north "
            "[0, 360); empty when the panorama lies in the footprint."), "deg"),
    ),
)

CAPTURE_TRACKS = _layer(
    "capture_tracks", "LineString", ("Fahrspuren", "Capture tracks"),
    ("Eine Linie je Aufnahmefahrt in zeitlicher Folge.", "One line per capture drive, in the order of time."),
    (
        _f("sequence_id", "string", ("Fahrt", "Drive"), ("Kennung der Aufnahmefahrt.", "Identifier of the capture drive.")),
        _f("started_at", "datetime", ("Beginn", "Started at"), ("Erstes Bild der Fahrt (UTC).", "First picture of the drive (UTC).")),
        _f("ended_at", "datetime", ("Ende", "Ended at"), ("Letztes Bild der Fahrt (UTC).", "Last picture of the drive (UTC).")),
        _f("image_count", "int32", ("Bilder", "Pictures"), ("Anzahl der Bilder der Fahrt.", "Number of pictures of the drive.")),
        _f("length_m", "float64", ("Länge", "Length"), ("Länge der Fahrspur in Metern.", "Length of the track in metres."), "m"),
        _f("max_gap_m", "float64", ("Größte Lücke", "Largest gap"),
           ("Größter Abstand zweier aufeinanderfolgender Bilder in Metern.",
            "Largest distance between two consecutive pictures in metres."), "m"),
    ),
    id_field="sequence_id",
)

CAPTURE_COVERAGE = _layer(
    "capture_coverage", "MultiPolygon", ("Erfasster Straßenraum", "Captured street space"),
    ("Von der Befahrung gesehener Straßenraum (Puffer um die Panoramen) je Aufnahmetag.",
     "Street space seen by the capture drive (buffer around the panoramas), per capture day."),
    (
        _f("capture_date", "date", ("Aufnahmetag", "Capture day"),
           ("Tag der Aufnahme (UTC, JJJJ-MM-TT).", "Day of capture (UTC, YYYY-MM-DD).")),
        _f("area_m2", "float64", ("Fläche", "Area"), ("Erfasste Fläche in Quadratmetern.", "Captured area in square metres."),
           "m2"),
    ),
    id_field="capture_date",
)

STREET_COVERAGE = _layer(
    "street_coverage", "LineString", ("Straßenabdeckung", "Street coverage"),
    ("Je Straßenabschnitt der erfasste Anteil und die letzte Aufnahme.",
     "Per street section, the captured share and the latest capture."),
    (
        _f("street_id", "string", ("Straßen-ID", "Street ID"), ("Kennung des Straßenabschnitts.", "Identifier of the street section.")),
        _f("name", "string", ("Straßenname", "Street name"), ("Name der Straße.", "Name of the street.")),
        _f("covered_share", "float64", ("Abdeckung", "Coverage"),
           ("Anteil der Abschnittslänge, der erfasst ist (0 bis 1).", "Share of the section's length that is captured (0 to 1).")),
        _f("last_captured_at", "datetime", ("Zuletzt erfasst", "Last captured"),
           ("Jüngste Aufnahme am Abschnitt (UTC).", "Newest capture along the section (UTC).")),
        _f("campaigns", "string", ("Kampagnen", "Campaigns"),
           ("Aufnahmejahre, die den Abschnitt erfassen, kommagetrennt.", "Capture years that cover the section, comma-separated.")),
    ),
    id_field="street_id",
    families=(FieldFamily(
        "share_", "float64", ("Abdeckung {}", "Coverage {}"),
        ("Anteil der Abschnittslänge, den die Kampagne {} erfasst (0 bis 1); eine Spalte je Kampagne.",
         "Share of the section's length that campaign {} captured (0 to 1); one column per campaign.")),),
)

FIBRE_ROUTES = _layer(
    "fibre_routes", "MultiLineString", ("Glasfasertrassen", "Fibre routes"),
    ("Trassenabschnitte des Glasfasernetzes der Stadt.", "Route sections of the town's fibre network."),
    (
        _f("route_id", "string", ("Trassen-ID", "Route ID"), ("Kennung des Trassenabschnitts.", "Identifier of the route section.")),
        _f("name", "string", ("Name", "Name"),
           ("Name des Trassenabschnitts, wo die Quelle einen nennt.", "Name of the route section, where the source gives one.")),
        _f("kind", "string", ("Bauweise", "Kind"), ("Art der Trasse.", "Kind of route."), values=ROUTE_KIND),
        _f("status", "string", ("Status", "Status"), ("Bauzustand der Trasse.", "Construction state of the route."),
           values=ROUTE_STATUS),
        _f("ducts", "int32", ("Rohre", "Ducts"), ("Anzahl der Leerrohre.", "Number of ducts.")),
        _f("fibres", "int32", ("Fasern", "Fibres"), ("Anzahl der Fasern.", "Number of fibres.")),
        _f("length_m", "float64", ("Länge", "Length"), ("Länge des Abschnitts in Metern.", "Length of the section in metres."), "m"),
        _f("component", "int32", ("Netzteil", "Network part"),
           ("Nummer des zusammenhängenden Netzteils (0 = mit der Zentrale verbunden).",
            "Number of the connected part of the network (0 = connected to the hub).")),
    ),
    id_field="route_id",
)

FIBRE_NODES = _layer(
    "fibre_nodes", "Point", ("Glasfaserknoten", "Fibre nodes"),
    ("Zentrale, Verteilerpunkte und angeschlossene Standorte.", "Hub, distribution points and connected sites."),
    (
        _f("node_id", "string", ("Knoten-ID", "Node ID"), ("Kennung des Knotens.", "Identifier of the node.")),
        _f("kind", "string", ("Art", "Kind"), ("Art des Knotens.", "Kind of node."), values=NODE_KIND),
        _f("name", "string", ("Name", "Name"), ("Name des Knotens oder Standorts.", "Name of the node or site.")),
        _f("building_id", "string", ("Gebäude-ID", "Building ID"),
           ("Gebäude, in dem der Knoten liegt.", "Building the node lies in.")),
        _f("network_distance_m", "float64", ("Netzentfernung", "Network distance"),
           ("Entfernung entlang des Netzes von der Zentrale in Metern.", "Distance along the network from the hub in metres."),
           "m"),
        _f("in_service_distance_m", "float64", ("Entfernung in Betrieb", "In-service distance"),
           ("Entfernung von der Zentrale nur entlang gebauter oder betriebener Trassen in Metern; leer, wo nur "
            "geplante Trassen hinführen.", "Distance from the hub along built or in-service routes only, in metres; "
            "empty where only planned routes lead."), "m"),
    ),
    id_field="node_id",
)

FIBRE_CONNECTIONS = _layer(
    "fibre_connections", "LineString", ("Hausanschlüsse", "Building connections"),
    ("Verbindung von einem Standortknoten zu dem Gebäude, das er versorgt.",
     "Link from a site node to the building it serves."),
    (
        _f("building_id", "string", ("Gebäude-ID", "Building ID"), ("Versorgtes Gebäude.", "Building served.")),
        _f("node_id", "string", ("Knoten-ID", "Node ID"), ("Versorgender Knoten.", "Node serving it.")),
        _f("length_m", "float64", ("Länge", "Length"), ("Länge der Verbindung in Metern.", "Length of the link in metres."), "m"),
    ),
    id_field="node_id",
)

QA_ISSUES = _layer(
    "qa_issues", "Point", ("Qualitätsprobleme", "Quality issues"),
    ("Jede Reparatur, jedes verworfene Objekt und jedes Topologieproblem.",
     "Every repair, every dropped feature and every topology problem."),
    (
        _f("layer", "string", ("Ebene", "Layer"), ("Ebene des betroffenen Objekts.", "Layer of the feature concerned.")),
        _f("feature_id", "string", ("Objekt-ID", "Feature ID"), ("Kennung des betroffenen Objekts.", "Identifier of the feature concerned.")),
        _f("check", "string", ("Prüfung", "Check"), ("Stabiler Code der Prüfung.", "Stable code of the check.")),
        _f("severity", "string", ("Schwere", "Severity"), ("Schwere des Problems.", "Severity of the problem."), values=SEVERITY),
        _f("message", "string", ("Meldung", "Message"), ("Beschreibung und was zu tun ist.", "Description and what to do.")),
        _f("run_id", "string", ("Lauf", "Run"),
           ("Lauf, der das Problem festgestellt hat (siehe Läufe).", "Run that found the problem (see Runs).")),
    ),
)

CHANGES = _layer(
    "changes", "Point", ("Änderungen", "Changes"),
    ("Was sich seit dem vorigen erfolgreichen Lauf geändert hat; ein Punkt auf dem Objekt "
     "(bei entfernten Objekten dort, wo es war).",
     "What changed since the previous successful run; a point on the feature (where it was, for removed features)."),
    (
        _f("layer", "string", ("Ebene", "Layer"), ("Ebene des geänderten Objekts.", "Layer of the changed feature.")),
        _f("feature_id", "string", ("Objekt-ID", "Feature ID"), ("Stabile Kennung des Objekts.", "Stable identifier of the feature.")),
        _f("change", "string", ("Änderung", "Change"), ("Art der Änderung.", "Kind of change."), values=CHANGE),
        _f("run_id", "string", ("Lauf", "Run"), ("Lauf, der die Änderung festgestellt hat.", "Run that found the change.")),
    ),
)

HISTORY = _layer(
    "history", None, ("Änderungsverlauf", "Change history"),
    ("Jede Änderung jedes Laufs, bei geänderten Objekten je geändertem Feld mit altem und neuem Wert; "
     "von Modell zu Modell übernommen und [output] history_days Tage lang aufbewahrt.",
     "Every change of every run, for a modified feature one row per changed field with its old and new value; "
     "carried from model to model and kept for [output] history_days days."),
    (
        _f("run_id", "string", ("Lauf", "Run"), ("Lauf, der die Änderung festgestellt hat.", "Run that found the change.")),
        _f("run_at", "datetime", ("Zeitpunkt", "Run at"), ("Beginn dieses Laufs (UTC).", "Start of that run (UTC).")),
        _f("layer", "string", ("Ebene", "Layer"), ("Ebene des geänderten Objekts.", "Layer of the changed feature.")),
        _f("feature_id", "string", ("Objekt-ID", "Feature ID"), ("Stabile Kennung des Objekts.", "Stable identifier of the feature.")),
        _f("change", "string", ("Änderung", "Change"), ("Art der Änderung.", "Kind of change."), values=CHANGE),
        _f("field", "string", ("Feld", "Field"),
           ("Geändertes Feld (geometry: die Geometrie); leer bei neuen und entfernten Objekten.",
            "Field that changed (geometry: the geometry); empty for added and removed features.")),
        _f("old_value", "string", ("Alter Wert", "Old value"),
           ("Wert vor der Änderung als Text (Geometrie als WKT); leer, wo er fehlte.",
            "Value before the change as text (geometry as WKT); empty where there was none.")),
        _f("new_value", "string", ("Neuer Wert", "New value"),
           ("Wert nach der Änderung als Text (Geometrie als WKT); leer, wo keiner mehr ist.",
            "Value after the change as text (geometry as WKT); empty where there is none.")),
    ),
)

RUNS = _layer(
    "runs", None, ("Läufe", "Runs"),
    ("Ein Eintrag je Lauf der Pipeline.", "One row per run of the pipeline."),
    (
        _f("run_id", "string", ("Lauf", "Run"), ("Kennung des Laufs.", "Identifier of the run.")),
        _f("started_at", "datetime", ("Beginn", "Started at"), ("Beginn des Laufs (UTC).", "Start of the run (UTC).")),
        _f("finished_at", "datetime", ("Ende", "Finished at"), ("Ende des Laufs (UTC).", "End of the run (UTC).")),
        _f("status", "string", ("Status", "Status"), ("Ergebnis des Laufs.", "Outcome of the run."), values=RUN_STATUS),
        _f("input_hashes", "json", ("Eingangs-Prüfsummen", "Input checksums"),
           ("SHA-256 jeder Eingabedatei und der Pipeline-Datei (JSON).", "SHA-256 of every input file and of the pipeline file (JSON).")),
        _f("counts", "json", ("Anzahlen", "Counts"),
           ("Objekte je Ebene und Zusammenfassung (JSON).", "Features per layer and summary (JSON).")),
        _f("software_version", "string", ("Softwareversion", "Software version"), ("Version von twin.", "Version of twin.")),
    ),
    id_field="run_id",
)

#: Every output layer, in the order they are written.
LAYERS: dict[str, Layer] = {
    layer.name: layer
    for layer in (
        BUILDINGS, PANORAMAS, PANORAMA_VIEWS, CAPTURE_TRACKS, CAPTURE_COVERAGE, STREET_COVERAGE,
        FIBRE_ROUTES, FIBRE_NODES, FIBRE_CONNECTIONS, QA_ISSUES, CHANGES, HISTORY, RUNS,
    )
}
