"""Code lists: ALKIS building functions (AdV Gebäudefunktion, GFK, code list 31001) and OSM building values.

Labels are German (as in the GeoInfoDok) and English. GFK values come as
``31001_1000`` (object type prefix) or bare ``1000``; both are accepted.

>>> function_labels(function_codes(pd.Series(["31001_2463"]))).tolist()
['Garage']
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: Gebäudefunktion code -> (German label, English label), AdV GeoInfoDok 31001 ``gebaeudefunktion``.
BUILDING_FUNCTIONS: dict[str, tuple[str, str]] = {
    "1000": ("Wohngebäude", "residential building"),
    '1010': ('Wohnhaus', 'dwelling house'),
    "1020": ("Wohnheim", "residential home"),
    '1021': ('Kinderheim', "children's home"),
    "1022": ("Seniorenheim", "retirement home"),
    '1023': ('Schwesternwohnheim', "nurses' home"),
    "1024": ("Studenten-, Schülerwohnheim", "student residence"),
    "1025": ("Schullandheim", "school country home"),
    "1100": ("Gemischt genutztes Gebäude mit Wohnen", "mixed use building with housing"),
    "1110": ("Wohngebäude mit Gemeinbedarf", "residential building with public use"),
    '1120': ('Wohngebäude mit Handel und Dienstleistungen', 'residential building with trade and services'),
    "1121": ("Wohn- und Verwaltungsgebäude", "residential and administration building"),
    "1122": ("Wohn- und Bürogebäude", "residential and office building"),
    "1123": ("Wohn- und Geschäftsgebäude", "residential and commercial building"),
    "1130": ("Wohngebäude mit Gewerbe und Industrie", "residential building with business and industry"),
    "1131": ("Wohn- und Betriebsgebäude", "residential and operational building"),
    "1210": ("Land- und forstwirtschaftliches Wohngebäude", "agricultural or forestry residential building"),
    "1220": ("Land- und forstwirtschaftliches Wohn- und Betriebsgebäude", "agricultural or forestry residential and operational building"),
    '1221': ('Bauernhaus', 'farmhouse'),
    "1222": ("Wohn- und Wirtschaftsgebäude", "residential and farm building"),
    '1223': ('Forsthaus', "forester's house"),
    "1310": ("Gebäude zur Freizeitgestaltung", "leisure building"),
    '1311': ('Ferienhaus', 'holiday home'),
    '1312': ('Wochenendhaus', 'weekend house'),
    '1313': ('Gartenhaus', 'garden house'),
    "2000": ("Gebäude für Wirtschaft oder Gewerbe", "commercial or industrial building"),
    "2010": ("Gebäude für Handel und Dienstleistungen", "trade and services building"),
    "2020": ("Bürogebäude", "office building"),
    "2030": ("Kreditinstitut", "bank"),
    "2040": ("Versicherung", "insurance building"),
    "2050": ("Geschäftsgebäude", "commercial building"),
    '2051': ('Kaufhaus', 'department store'),
    "2052": ("Einkaufszentrum", "shopping centre"),
    "2053": ("Markthalle", "market hall"),
    "2054": ("Laden", "shop"),
    "2055": ("Kiosk", "kiosk"),
    "2056": ("Apotheke", "pharmacy"),
    "2060": ("Messehalle", "exhibition hall"),
    "2070": ("Gebäude für Beherbergung", "accommodation building"),
    "2071": ("Hotel, Motel, Pension", "hotel, motel, guest house"),
    "2072": ("Jugendherberge", "youth hostel"),
    "2073": ("Hütte (mit Übernachtungsmöglichkeit)", "hut with lodging"),
    "2074": ("Campingplatzgebäude", "campsite building"),
    "2080": ("Gebäude für Bewirtung", "catering building"),
    "2081": ("Gaststätte, Restaurant", "restaurant"),
    "2082": ("Hütte (ohne Übernachtungsmöglichkeit)", "hut without lodging"),
    "2083": ("Kantine", "canteen"),
    "2090": ("Freizeit- und Vergnügungsstätte", "entertainment venue"),
    "2091": ("Festsaal", "banquet hall"),
    "2092": ("Kino", "cinema"),
    "2093": ("Kegel-, Bowlinghalle", "bowling alley"),
    "2094": ("Spielkasino", "casino"),
    "2100": ("Gebäude für Gewerbe und Industrie", "industrial building"),
    "2110": ("Produktionsgebäude", "production building"),
    "2111": ("Fabrik", "factory"),
    "2112": ("Betriebsgebäude", "operational building"),
    "2113": ("Brauerei", "brewery"),
    "2114": ("Brennerei", "distillery"),
    "2120": ("Werkstatt", "workshop"),
    "2121": ("Sägewerk", "sawmill"),
    "2130": ("Tankstelle", "petrol station"),
    "2131": ("Waschstraße, Waschanlage, Waschhalle", "car wash"),
    "2140": ("Gebäude für Vorratshaltung", "storage building"),
    '2141': ('Kühlhaus', 'cold store'),
    "2142": ("Speichergebäude", "granary, storehouse"),
    '2143': ('Lagerhalle, Lagerschuppen, Lagerhaus', 'warehouse'),
    "2150": ("Speditionsgebäude", "haulage building"),
    "2160": ("Gebäude für Forschungszwecke", "research building"),
    "2170": ("Gebäude für Grundstoffgewinnung", "raw material extraction building"),
    "2171": ("Bergwerk", "mine"),
    '2172': ('Saline', 'saltworks'),
    "2180": ("Gebäude für betriebliche Sozialeinrichtung", "staff welfare building"),
    "2200": ("Sonstiges Gebäude für Gewerbe und Industrie", "other industrial building"),
    "2210": ("Mühle", "mill"),
    "2211": ("Windmühle", "windmill"),
    "2212": ("Wassermühle", "watermill"),
    "2213": ("Schöpfwerk", "pumping station (drainage)"),
    "2220": ("Wetterstation", "weather station"),
    "2310": ("Gebäude für Handel und Dienstleistung mit Wohnen", "trade and services building with housing"),
    "2320": ("Gebäude für Gewerbe und Industrie mit Wohnen", "industrial building with housing"),
    "2400": ("Betriebsgebäude zu Verkehrsanlagen (allgemein)", "transport operations building"),
    "2410": ("Betriebsgebäude für Straßenverkehr", "road transport building"),
    "2411": ("Straßenmeisterei", "road maintenance depot"),
    "2412": ("Wartehalle", "waiting shelter"),
    "2420": ("Betriebsgebäude für Schienenverkehr", "railway operations building"),
    '2421': ('Bahnwärterhaus', "level crossing keeper's house"),
    "2422": ("Lokschuppen, Wagenhalle", "engine shed"),
    "2423": ("Stellwerk, Blockstelle", "signal box"),
    '2424': ('Betriebsgebäude des Güterbahnhofs', 'freight station building'),
    "2430": ("Betriebsgebäude für Flugverkehr", "aviation building"),
    "2431": ("Flugzeughalle", "hangar"),
    "2440": ("Betriebsgebäude für Schiffsverkehr", "shipping building"),
    "2441": ("Werft (Halle)", "shipyard hall"),
    "2442": ("Dock (Halle)", "dock hall"),
    "2443": ("Betriebsgebäude zur Schleuse", "lock building"),
    '2444': ('Bootshaus', 'boathouse'),
    "2450": ("Betriebsgebäude zur Seilbahn", "cable car building"),
    "2451": ("Spannwerk zur Drahtseilbahn", "cable car tensioning station"),
    "2460": ("Gebäude zum Parken", "parking building"),
    '2461': ('Parkhaus', 'multi-storey car park'),
    "2462": ("Parkdeck", "parking deck"),
    "2463": ("Garage", "garage"),
    "2464": ("Fahrzeughalle", "vehicle hall"),
    "2465": ("Tiefgarage", "underground car park"),
    "2500": ("Gebäude zur Versorgung", "utility building"),
    "2501": ("Gebäude zur Energieversorgung", "energy supply building"),
    "2510": ("Gebäude zur Wasserversorgung", "water supply building"),
    '2511': ('Wasserwerk', 'waterworks'),
    "2512": ("Pumpstation", "pumping station"),
    "2513": ("Wasserbehälter", "water tank"),
    "2520": ("Gebäude zur Elektrizitätsversorgung", "electricity supply building"),
    "2521": ("Elektrizitätswerk", "power station"),
    "2522": ("Umspannwerk", "substation"),
    "2523": ("Umformer", "transformer station"),
    "2527": ("Reaktorgebäude", "reactor building"),
    '2528': ('Turbinenhaus', 'turbine house'),
    '2529': ('Kesselhaus', 'boiler house'),
    "2540": ("Gebäude für Fernmeldewesen", "telecommunications building"),
    '2560': ('Gebäude an unterirdischen Leitungen', 'building on underground lines'),
    "2570": ("Gebäude zur Gasversorgung", "gas supply building"),
    '2571': ('Gaswerk', 'gasworks'),
    "2580": ("Heizwerk", "heating plant"),
    "2590": ("Gebäude zur Versorgungsanlage", "supply facility building"),
    "2591": ("Pumpwerk (nicht für Wasserversorgung)", "pumping plant"),
    "2600": ("Gebäude zur Entsorgung", "waste disposal building"),
    "2610": ("Gebäude zur Abwasserbeseitigung", "sewage building"),
    "2611": ("Gebäude der Kläranlage", "sewage treatment building"),
    "2612": ("Toilette", "toilet"),
    "2620": ("Gebäude zur Abfallbehandlung", "waste treatment building"),
    "2621": ("Müllbunker", "refuse bunker"),
    "2622": ("Gebäude zur Müllverbrennung", "incineration building"),
    "2623": ("Gebäude der Abfalldeponie", "landfill building"),
    "2700": ("Gebäude für Land- und Forstwirtschaft", "agricultural or forestry building"),
    "2720": ("Land- und forstwirtschaftliches Betriebsgebäude", "farm building"),
    "2721": ("Scheune", "barn"),
    "2723": ("Schuppen", "shed"),
    "2724": ("Stall", "stable"),
    "2726": ("Scheune und Stall", "barn and stable"),
    "2727": ("Stall für Tiergroßhaltung", "livestock house"),
    "2728": ("Reithalle", "riding hall"),
    "2729": ("Wirtschaftsgebäude", "farm outbuilding"),
    "2732": ("Almhütte", "alpine hut"),
    "2735": ("Jagdhaus, Jagdhütte", "hunting lodge"),
    '2740': ('Treibhaus, Gewächshaus', 'greenhouse'),
    '2741': ('Treibhaus', 'hothouse'),
    "2742": ("Gewächshaus, verschiebbar", "movable greenhouse"),
    "3000": ("Gebäude für öffentliche Zwecke", "public building"),
    "3010": ("Verwaltungsgebäude", "administration building"),
    "3011": ("Parlament", "parliament"),
    '3012': ('Rathaus', 'town hall'),
    "3013": ("Post", "post office"),
    "3014": ("Zollamt", "customs office"),
    "3015": ("Gericht", "court"),
    "3016": ("Botschaft, Konsulat", "embassy, consulate"),
    "3017": ("Kreisverwaltung", "district administration"),
    "3018": ("Bezirksregierung", "regional government"),
    "3019": ("Finanzamt", "tax office"),
    "3020": ("Gebäude für Bildung und Forschung", "education and research building"),
    "3021": ("Allgemein bildende Schule", "school"),
    "3022": ("Berufsbildende Schule", "vocational school"),
    "3023": ("Hochschulgebäude (Fachhochschule, Universität)", "university building"),
    "3024": ("Forschungsinstitut", "research institute"),
    "3030": ("Gebäude für kulturelle Zwecke", "cultural building"),
    '3031': ('Schloss', 'palace'),
    "3032": ("Theater, Oper", "theatre, opera"),
    "3033": ("Konzertgebäude", "concert hall"),
    "3034": ("Museum", "museum"),
    "3035": ("Rundfunk, Fernsehen", "broadcasting building"),
    "3036": ("Veranstaltungsgebäude", "event building"),
    "3037": ("Bibliothek, Bücherei", "library"),
    '3038': ('Burg, Festung', 'castle, fortress'),
    "3040": ("Gebäude für religiöse Zwecke", "religious building"),
    "3041": ("Kirche", "church"),
    "3042": ("Synagoge", "synagogue"),
    "3043": ("Kapelle", "chapel"),
    '3044': ('Gemeindehaus', 'parish hall'),
    '3045': ('Gotteshaus', 'place of worship'),
    "3046": ("Moschee", "mosque"),
    "3047": ("Tempel", "temple"),
    "3048": ("Kloster", "monastery"),
    "3050": ("Gebäude für Gesundheitswesen", "health care building"),
    '3051': ('Krankenhaus', 'hospital'),
    "3052": ("Heilanstalt, Pflegeanstalt, Pflegestation", "care home"),
    "3053": ("Ärztehaus, Poliklinik", "medical centre"),
    "3060": ("Gebäude für soziale Zwecke", "social services building"),
    "3061": ("Jugendfreizeitheim", "youth centre"),
    '3062': ('Freizeit-, Vereinsheim, Dorfgemeinschafts-, Bürgerhaus', 'community centre'),
    '3063': ('Seniorenfreizeitstätte', "senior citizens' centre"),
    "3064": ("Obdachlosenheim", "homeless shelter"),
    "3065": ("Kinderkrippe, Kindergarten, Kindertagesstätte", "nursery, kindergarten"),
    '3066': ('Asylbewerberheim', "asylum seekers' home"),
    "3070": ("Gebäude für Sicherheit und Ordnung", "public safety building"),
    "3071": ("Polizei", "police station"),
    "3072": ("Feuerwehr", "fire station"),
    '3073': ('Kaserne', 'barracks'),
    "3074": ("Schutzbunker", "bunker"),
    "3075": ("Justizvollzugsanstalt", "prison"),
    "3080": ("Friedhofsgebäude", "cemetery building"),
    "3081": ("Trauerhalle", "funeral hall"),
    "3082": ("Krematorium", "crematorium"),
    "3090": ("Empfangsgebäude", "station building"),
    "3091": ("Bahnhofsgebäude", "railway station"),
    "3092": ("Flughafengebäude", "airport terminal"),
    "3094": ("Gebäude zum U-Bahnhof", "underground station building"),
    "3095": ("Gebäude zum S-Bahnhof", "suburban rail station building"),
    "3097": ("Gebäude zum Busbahnhof", "bus station building"),
    "3098": ("Empfangsgebäude Schifffahrt", "ferry terminal"),
    "3100": ("Gebäude für öffentliche Zwecke mit Wohnen", "public building with housing"),
    "3200": ("Gebäude für Erholungszwecke", "recreation building"),
    "3210": ("Gebäude für Sportzwecke", "sports building"),
    "3211": ("Sport-, Turnhalle", "sports hall"),
    "3212": ("Gebäude zum Sportplatz", "sports ground building"),
    "3220": ("Badegebäude", "bathing building"),
    "3221": ("Hallenbad", "indoor swimming pool"),
    "3222": ("Gebäude im Freibad", "outdoor pool building"),
    "3230": ("Gebäude im Stadion", "stadium building"),
    "3240": ("Gebäude für Kurbetrieb", "spa building"),
    "3241": ("Badegebäude für medizinische Zwecke", "medical bath"),
    "3242": ("Sanatorium", "sanatorium"),
    "3260": ("Gebäude im Zoo", "zoo building"),
    '3261': ('Empfangsgebäude des Zoos', 'zoo entrance building'),
    "3262": ("Aquarium, Terrarium, Voliere", "aquarium, terrarium, aviary"),
    '3263': ('Tierschauhaus', 'animal house'),
    "3264": ("Stall im Zoo", "zoo stable"),
    "3270": ("Gebäude im botanischen Garten", "botanical garden building"),
    '3271': ('Empfangsgebäude des botanischen Gartens', 'botanical garden entrance building'),
    "3272": ("Gewächshaus (Botanik)", "botanical greenhouse"),
    '3273': ('Pflanzenschauhaus', 'plant house'),
    "3280": ("Gebäude für andere Erholungseinrichtung", "other recreation building"),
    "3281": ("Schutzhütte", "shelter"),
    "3290": ("Touristisches Informationszentrum", "tourist information centre"),
    '9998': ('Nach Quellenlage nicht zu spezifizieren', 'not specifiable from the sources'),
}

#: Label of a code that is not in :data:`BUILDING_FUNCTIONS`.
UNKNOWN_LABEL = "unbekannt"
#: English label of a code that is not in :data:`BUILDING_FUNCTIONS`.
UNKNOWN_LABEL_EN = "unknown"

#: Default LoD1 height (m) by the first digits of the function code; the longest prefix wins.
DEFAULT_HEIGHT_M: dict[str, float] = {
    "1": 9.0, "11": 12.0, "12": 8.0, "13": 4.0,
    "2": 8.0, "20": 12.0, "21": 8.0, "27": 6.0, "274": 4.0, "2412": 3.0,
    "246": 3.0, "2461": 12.0, "2462": 6.0, "2465": 3.0, "2523": 3.0, "2612": 3.0, "2723": 3.0,
    "3": 12.0, "3012": 18.0, "3041": 20.0, "3211": 9.0, "3281": 3.0,
    "9998": 8.0,
}

#: OSM ``building=*`` value -> closest Gebäudefunktion code.
OSM_FUNCTIONS: dict[str, str] = {
    "residential": "1000", "house": "1010", "detached": "1010", "semidetached_house": "1010",
    "terrace": "1010", "bungalow": "1010", "farm": "1221", "apartments": "1000", "dormitory": "1024",
    "hotel": "2071", "commercial": "2000", "office": "2020", "retail": "2050", "supermarket": "2054",
    "kiosk": "2055", "industrial": "2100", "manufacture": "2111", "warehouse": "2143",
    "service": "2590", "transformer_tower": "2523", "garage": "2463", "garages": "2463", "carport": "2463",
    "parking": "2461", "shed": "2723", "hut": "2723", "barn": "2721", "stable": "2724", "cowshed": "2724",
    "greenhouse": "2740", "farm_auxiliary": "2729", "civic": "3000", "public": "3000",
    "government": "3010", "townhall": "3012", "school": "3021", "university": "3023", "college": "3022",
    "kindergarten": "3065", "museum": "3034", "church": "3041", "cathedral": "3041", "chapel": "3043",
    "mosque": "3046", "synagogue": "3042", "temple": "3047", "religious": "3040", "hospital": "3051",
    "fire_station": "3072", "train_station": "3091", "sports_hall": "3211", "sports_centre": "3210",
    "toilets": "2612",
}


def function_codes(values: pd.Series) -> pd.Series:
    """Normalise GFK values to the bare code: ``'31001_1000'``, ``'1000'`` and ``1000.0`` give ``'1000'``.

    Empty values become missing; the index is kept.

    >>> function_codes(pd.Series(["31001_3012", "1000", None, 2463.0])).tolist()
    ['3012', '1000', nan, '2463']
    """
    text = values.astype("str").str.strip()
    text = text.str.replace(r"^\d+_", "", regex=True).str.replace(r"\.0+$", "", regex=True)
    return text.where(values.notna() & (text != "") & (text.str.lower() != "nan"))


def function_labels(codes: pd.Series, *, english: bool = False) -> pd.Series:
    """German (or English) labels of bare codes; unknown codes get ``'unbekannt'`` (``'unknown'``).

    Missing codes are labelled as unknown too.

    >>> function_labels(pd.Series(["3012", "4711"])).tolist()
    ['Rathaus', 'unbekannt']
    >>> function_labels(pd.Series(["1000"]), english=True).tolist()
    ['residential building']
    """
    table = {code: labels[1 if english else 0] for code, labels in BUILDING_FUNCTIONS.items()}
    return codes.map(table).fillna(UNKNOWN_LABEL_EN if english else UNKNOWN_LABEL).astype("str")


def written_function_codes(values: pd.Series) -> pd.Series:
    """Codes of functions written as words: ALKIS labels (German or English) and OSM ``building=*`` values.

    Missing where a word names no function; numbers are left to :func:`function_codes`.

    >>> written_function_codes(pd.Series(["Wohnhaus", "garage", "Schule", "Scheune?"])).tolist()
    ['1010', '2463', '3021', nan]
    """
    words = values.astype("str").str.strip().str.lower()
    by_label = {label.lower(): code for code, labels in BUILDING_FUNCTIONS.items() for label in labels}
    by_label.update({"schule": "3021", "gartenhaus": "2723"})  # short forms offices write
    return words.map(by_label).fillna(osm_function_codes(values))


def osm_function_codes(values: pd.Series) -> pd.Series:
    """Gebäudefunktion codes of OSM ``building=*`` values (missing where there is no close code).

    >>> osm_function_codes(pd.Series(["house", "yes", "garage"])).tolist()
    ['1010', nan, '2463']
    """
    return values.astype("str").str.strip().str.lower().map(OSM_FUNCTIONS)


def default_heights(codes: pd.Series, *, fallback_m: float) -> pd.Series:
    """Default LoD1 height of each function code by its longest prefix in :data:`DEFAULT_HEIGHT_M`.

    >>> default_heights(pd.Series(["2463", "1010", None]), fallback_m=8.0).tolist()
    [3.0, 9.0, 8.0]
    """
    text = codes.astype("str").where(codes.notna(), "")
    out = pd.Series(np.nan, index=codes.index, dtype="float64")
    for prefix in sorted(DEFAULT_HEIGHT_M, key=len, reverse=True):  # a few dozen prefixes, not rows
        hit = out.isna() & text.str.startswith(prefix)
        out[hit] = DEFAULT_HEIGHT_M[prefix]
    return out.fillna(fallback_m)
