"""Field and layer specifications of every output layer."""

from __future__ import annotations

from dataclasses import dataclass, field

#: Field types and the pandas dtype each becomes in a frame.
DTYPES: dict[str, str] = {
    "string": "str",
    "int32": "Int32",
    "int64": "Int64",
    "float64": "float64",
    "bool": "boolean",
    "datetime": "datetime64[ms, UTC]",
    "date": "str",
    "json": "str",
}


@dataclass(frozen=True)
class Field:
    """One attribute of a layer.

    Parameters
    ----------
    name
        Column name (snake_case, unit suffix, ``_at`` for UTC timestamps).
    dtype
        One of :data:`DTYPES`.
    title
        Short human title (German, as GIS staff read it), used as alias.
    description
        One sentence explaining the field, with its unit.
    unit
        Unit symbol, empty when dimensionless.
    values
        For coded fields, the allowed values with a description each.
    title_en
        English title.
    """

    name: str
    dtype: str
    title: str
    description: str
    unit: str = ""
    values: dict[str, str] = field(default_factory=dict)
    title_en: str = ""

    def __post_init__(self) -> None:
        if self.dtype not in DTYPES:
            msg = f"field {self.name}: unknown dtype {self.dtype!r}"
            raise ValueError(msg)


@dataclass(frozen=True)
class Layer:
    """One layer (table) of the output GeoPackage."""

    name: str
    geometry_type: str | None
    title: str
    description: str
    fields: tuple[Field, ...]
    id_field: str | None = None

    def field(self, name: str) -> Field:
        """Return the field called `name`."""
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)

    @property
    def columns(self) -> list[str]:
        """Field names in order."""
        return [f.name for f in self.fields]


FIBRE_STATUS = {
    "connected": "angeschlossen: ein Standort im Gebäude ist über das Netz mit der Zentrale verbunden",
    "reachable": "erreichbar: eine gebaute oder betriebene Trasse liegt in Reichweite",
    "planned": "geplant: nur geplante Trassen liegen in Reichweite",
    "none": "nicht erreichbar",
}
ROUTE_KIND = {"trench": "Graben (Tiefbau)", "duct": "Leerrohr (Bestand)", "aerial": "Freileitung",
              "unknown": "unbekannt (nicht geliefert)"}
ROUTE_STATUS = {"planned": "geplant", "built": "gebaut", "in_service": "in Betrieb"}
NODE_KIND = {"hub": "Zentrale (PoP, Rathaus)", "distribution": "Verteilerpunkt", "site": "angeschlossener Standort"}
SEVERITY = {"error": "Fehler", "warning": "Warnung", "info": "Hinweis"}
CHANGE = {"added": "neu", "removed": "entfernt", "modified": "geändert"}
HEIGHT_SOURCE = {
    "measured": "gemessen (z. B. LoD2 measuredHeight)",
    "source": "Höhe aus der Quelle (z. B. OSM height)",
    "storeys": "Geschosse × Geschosshöhe",
    "default": "Standardhöhe der Gebäudefunktion",
}
HEADING_SOURCE = {
    "pose": "Kamerapose (GPano PoseHeadingDegrees)",
    "image_direction": "Bildrichtung des Kompasses (EXIF GPSImgDirection)",
    "gps_track": "Fahrtrichtung des GPS-Empfängers (EXIF GPSTrack)",
    "source": "Blickrichtung aus der Quelle (Spalte oder Attribut)",
    "derived": "abgeleitet: Richtung zum nächsten Bild der Fahrt, nicht gemessen",
}
BUILDING_SOURCE = {"alkis": "ALKIS Hausumringe", "osm": "OpenStreetMap", "generic": "andere Vektordatei"}
RUN_STATUS = {"ok": "erfolgreich", "failed": "fehlgeschlagen"}


def _f(name: str, dtype: str, title: str, description: str, unit: str = "", **kw: object) -> Field:
    return Field(name, dtype, title, description, unit, **kw)  # type: ignore[arg-type]


BUILDINGS = Layer(
    "buildings", "MultiPolygon", "Gebäude",
    "Gebäudegrundrisse (LoD1) mit Funktion, Höhe, Glasfaser- und Panoramabezug.",
    (
        _f("building_id", "string", "Gebäude-ID", "Stabile Kennung aus der Quelle (ALKIS OI, OSM way/relation)."),
        _f("source", "string", "Quelle", "Herkunft des Grundrisses (alkis, osm, generic).", values=BUILDING_SOURCE),
        _f("function_code", "string", "Funktionsschlüssel", "ALKIS-Gebäudefunktion (Schlüssel, z. B. 1000)."),
        _f("function_label", "string", "Gebäudefunktion", "Bezeichnung der Gebäudefunktion."),
        _f("function_label_en", "string", "Gebäudefunktion (englisch)", "Englische Bezeichnung der Gebäudefunktion."),
        _f("storeys", "int32", "Geschosse", "Anzahl oberirdischer Geschosse, wo bekannt."),
        _f("height_m", "float64", "Höhe", "Gebäudehöhe für das LoD1-Modell in Metern.", "m"),
        _f("height_source", "string", "Höhenquelle", "Woher die Höhe stammt.", values=HEIGHT_SOURCE),
        _f("area_m2", "float64", "Grundfläche", "Fläche des Grundrisses in Quadratmetern.", "m2"),
        _f("street", "string", "Straße", "Straßenname der Adresse, wo bekannt."),
        _f("house_number", "string", "Hausnummer", "Hausnummer der Adresse, wo bekannt."),
        _f("postcode", "string", "Postleitzahl", "Postleitzahl der Adresse, wo bekannt."),
        _f("fibre_status", "string", "Glasfaserstatus", "Anbindung an das Glasfasernetz der Stadt.", values=FIBRE_STATUS),
        _f("fibre_distance_m", "float64", "Abstand Glasfaser", "Abstand zur nächsten Trasse in Metern.", "m"),
        _f("panorama_count", "int32", "Panoramen", "Panoramen, die das Gebäude zeigen."),
        _f("last_captured_at", "datetime", "Zuletzt erfasst", "Zeitpunkt (UTC) des jüngsten Panoramas des Gebäudes."),
        _f("source_attributes", "json", "Quellattribute", "Alle weiteren Attribute der Quelle als JSON."),
    ),
    id_field="building_id",
)

PANORAMAS = Layer(
    "panoramas", "PointZ", "Panoramen",
    "Ein Punkt je Panoramabild der Befahrung, Aufnahmeposition mit Höhe.",
    (
        _f("panorama_id", "string", "Panorama-ID", "Kennung des Bildes beim Anbieter."),
        _f("image_name", "string", "Bildname", "Dateiname oder Name des Bildes."),
        _f("captured_at", "datetime", "Aufnahmezeit", "Aufnahmezeitpunkt in UTC."),
        _f("sequence_id", "string", "Fahrt", "Kennung der Aufnahmefahrt (Sequenz)."),
        _f("heading_deg", "float64", "Blickrichtung",
           "Richtung der Bildmitte, Grad von Gitternord des Koordinatensystems im Uhrzeigersinn [0, 360).", "deg"),
        _f("heading_source", "string", "Herkunft der Blickrichtung",
           "Woher die Blickrichtung stammt; derived: aus der Fahrt abgeleitet, nicht gemessen.", values=HEADING_SOURCE),
        _f("pitch_deg", "float64", "Neigung", "Nickwinkel der Kamera in Grad.", "deg"),
        _f("roll_deg", "float64", "Rollwinkel", "Rollwinkel der Kamera in Grad.", "deg"),
        _f("altitude_m", "float64", "Höhe", "Höhe der Kamera in Metern.", "m"),
        _f("gnss_accuracy_m", "float64", "GNSS-Genauigkeit", "Horizontale Lagegenauigkeit in Metern.", "m"),
        _f("gnss_jump", "bool", "GNSS-Sprung",
           "Wahr, wenn die Position mehr als max_deviation_m neben der Linie durch die Nachbarbilder liegt und die "
           "Fahrt danach auf diese Linie zurückkehrt (Mehrwegeempfang); solche Panoramen zählen nicht für Fahrspuren, Abdeckung "
           "und Gebäude."),
    ),
    id_field="panorama_id",
)

CAPTURE_TRACKS = Layer(
    "capture_tracks", "LineString", "Fahrspuren",
    "Eine Linie je Aufnahmefahrt in zeitlicher Folge.",
    (
        _f("sequence_id", "string", "Fahrt", "Kennung der Aufnahmefahrt."),
        _f("started_at", "datetime", "Beginn", "Erstes Bild der Fahrt (UTC)."),
        _f("ended_at", "datetime", "Ende", "Letztes Bild der Fahrt (UTC)."),
        _f("image_count", "int32", "Bilder", "Anzahl der Bilder der Fahrt."),
        _f("length_m", "float64", "Länge", "Länge der Fahrspur in Metern.", "m"),
        _f("max_gap_m", "float64", "Größte Lücke", "Größter Abstand zweier aufeinanderfolgender Bilder in Metern.", "m"),
    ),
    id_field="sequence_id",
)

CAPTURE_COVERAGE = Layer(
    "capture_coverage", "MultiPolygon", "Erfasster Straßenraum",
    "Von der Befahrung gesehener Straßenraum (Puffer um die Panoramen) je Aufnahmetag.",
    (
        _f("capture_date", "date", "Aufnahmetag", "Tag der Aufnahme (UTC, JJJJ-MM-TT)."),
        _f("area_m2", "float64", "Fläche", "Erfasste Fläche in Quadratmetern.", "m2"),
    ),
    id_field="capture_date",
)

STREET_COVERAGE = Layer(
    "street_coverage", "LineString", "Straßenabdeckung",
    "Je Straßenabschnitt der erfasste Anteil und die letzte Aufnahme.",
    (
        _f("street_id", "string", "Straßen-ID", "Kennung des Straßenabschnitts."),
        _f("name", "string", "Straßenname", "Name der Straße."),
        _f("covered_share", "float64", "Abdeckung", "Anteil der Abschnittslänge, der erfasst ist (0 bis 1)."),
        _f("last_captured_at", "datetime", "Zuletzt erfasst", "Jüngste Aufnahme am Abschnitt (UTC)."),
        _f("campaigns", "string", "Kampagnen", "Aufnahmejahre, die den Abschnitt erfassen, kommagetrennt."),
    ),
    id_field="street_id",
)

FIBRE_ROUTES = Layer(
    "fibre_routes", "MultiLineString", "Glasfasertrassen",
    "Trassenabschnitte des Glasfasernetzes der Stadt.",
    (
        _f("route_id", "string", "Trassen-ID", "Kennung des Trassenabschnitts."),
        _f("name", "string", "Name", "Name des Trassenabschnitts, wo die Quelle einen nennt."),
        _f("kind", "string", "Bauweise", "Art der Trasse.", values=ROUTE_KIND),
        _f("status", "string", "Status", "Bauzustand der Trasse.", values=ROUTE_STATUS),
        _f("ducts", "int32", "Rohre", "Anzahl der Leerrohre."),
        _f("fibres", "int32", "Fasern", "Anzahl der Fasern."),
        _f("length_m", "float64", "Länge", "Länge des Abschnitts in Metern.", "m"),
        _f("component", "int32", "Netzteil", "Nummer des zusammenhängenden Netzteils (0 = mit der Zentrale verbunden)."),
    ),
    id_field="route_id",
)

FIBRE_NODES = Layer(
    "fibre_nodes", "Point", "Glasfaserknoten",
    "Zentrale (Rathaus), Verteilerpunkte und angeschlossene Standorte.",
    (
        _f("node_id", "string", "Knoten-ID", "Kennung des Knotens."),
        _f("kind", "string", "Art", "Art des Knotens.", values=NODE_KIND),
        _f("name", "string", "Name", "Name des Knotens oder Standorts."),
        _f("building_id", "string", "Gebäude-ID", "Gebäude, in dem der Knoten liegt."),
        _f("network_distance_m", "float64", "Netzentfernung", "Entfernung entlang des Netzes von der Zentrale in Metern.", "m"),
    ),
    id_field="node_id",
)

FIBRE_CONNECTIONS = Layer(
    "fibre_connections", "LineString", "Hausanschlüsse",
    "Verbindung von einem Standortknoten zu dem Gebäude, das er versorgt.",
    (
        _f("building_id", "string", "Gebäude-ID", "Versorgtes Gebäude."),
        _f("node_id", "string", "Knoten-ID", "Versorgender Knoten."),
        _f("length_m", "float64", "Länge", "Länge der Verbindung in Metern.", "m"),
    ),
    id_field="node_id",
)

QA_ISSUES = Layer(
    "qa_issues", "Point", "Qualitätsprobleme",
    "Jede Reparatur, jedes verworfene Objekt und jedes Topologieproblem.",
    (
        _f("layer", "string", "Ebene", "Ebene des betroffenen Objekts."),
        _f("feature_id", "string", "Objekt-ID", "Kennung des betroffenen Objekts."),
        _f("check", "string", "Prüfung", "Stabiler Code der Prüfung."),
        _f("severity", "string", "Schwere", "Schwere des Problems.", values=SEVERITY),
        _f("message", "string", "Meldung", "Beschreibung und was zu tun ist."),
    ),
)

CHANGES = Layer(
    "changes", "Point", "Änderungen",
    "Was sich seit dem vorigen erfolgreichen Lauf geändert hat; ein Punkt auf dem Objekt "
    "(bei entfernten Objekten dort, wo es war).",
    (
        _f("layer", "string", "Ebene", "Ebene des geänderten Objekts."),
        _f("feature_id", "string", "Objekt-ID", "Stabile Kennung des Objekts."),
        _f("change", "string", "Änderung", "Art der Änderung.", values=CHANGE),
        _f("run_id", "string", "Lauf", "Lauf, der die Änderung festgestellt hat."),
    ),
)

RUNS = Layer(
    "runs", None, "Läufe",
    "Ein Eintrag je Lauf der Pipeline.",
    (
        _f("run_id", "string", "Lauf", "Kennung des Laufs."),
        _f("started_at", "datetime", "Beginn", "Beginn des Laufs (UTC)."),
        _f("finished_at", "datetime", "Ende", "Ende des Laufs (UTC)."),
        _f("status", "string", "Status", "Ergebnis des Laufs.", values=RUN_STATUS),
        _f("input_hashes", "json", "Eingangs-Prüfsummen", "SHA-256 jeder Eingabedatei und der Pipeline-Datei (JSON)."),
        _f("counts", "json", "Anzahlen", "Objekte je Ebene und Zusammenfassung (JSON)."),
        _f("software_version", "string", "Softwareversion", "Version von twin."),
    ),
    id_field="run_id",
)

#: Every output layer, in the order they are written.
LAYERS: dict[str, Layer] = {
    layer.name: layer
    for layer in (
        BUILDINGS, PANORAMAS, CAPTURE_TRACKS, CAPTURE_COVERAGE, STREET_COVERAGE,
        FIBRE_ROUTES, FIBRE_NODES, FIBRE_CONNECTIONS, QA_ISSUES, CHANGES, RUNS,
    )
}
