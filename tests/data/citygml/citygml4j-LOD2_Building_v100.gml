<?xml version="1.0" encoding="ISO-8859-1" standalone="yes"?>
<core:CityModel xmlns:core="http://www.opengis.net/citygml/1.0" xmlns:gml="http://www.opengis.net/gml"
    xmlns:bldg="http://www.opengis.net/citygml/building/1.0" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
    xsi:schemaLocation="http://www.opengis.net/citygml/building/1.0 http://schemas.opengis.net/citygml/building/1.0/building.xsd">
    <gml:boundedBy>
        <gml:Envelope srsDimension="3">
            <gml:lowerCorner>0.0 0.0 0.0</gml:lowerCorner>
            <gml:upperCorner>6.0 12.0 9.0</gml:upperCorner>
        </gml:Envelope>
    </gml:boundedBy>
    <core:cityObjectMember>
        <bldg:Building gml:id="Building_01">
            <bldg:boundedBy>
                <bldg:GroundSurface gml:id="GroundSurface_01">
                    <bldg:lod2MultiSurface>
                        <gml:MultiSurface>
                            <gml:surfaceMember>
                                <gml:Polygon gml:id="UUID_5188ee6b-c582-4dbe-a585-301a888b7e1f">
                                    <gml:exterior>
                                        <gml:LinearRing>
                                            <gml:posList srsDimension="3">0.0 0.0 0.0 0.0 12.0 0.0 6.0 12.0 0.0 6.0 0.0 0.0 0.0
                                                0.0 0.0 0.0 0.0 0.0</gml:posList>
                                        </gml:LinearRing>
                                    </gml:exterior>
                                </gml:Polygon>
                            </gml:surfaceMember>
                        </gml:MultiSurface>
                    </bldg:lod2MultiSurface>
                </bldg:GroundSurface>
            </bldg:boundedBy>
            <bldg:boundedBy>
                <bldg:WallSurface gml:id="WallSurface_01">
                    <bldg:lod2MultiSurface>
                        <gml:MultiSurface>
                            <gml:surfaceMember>
                                <gml:Polygon gml:id="UUID_c8ad4ac1-b735-4e61-907e-6f0ceed8b627">
                                    <gml:exterior>
                                        <gml:LinearRing>
                                            <gml:posList srsDimension="3">6.0 0.0 0.0 6.0 12.0 0.0 6.0 12.0 6.0 6.0 0.0 6.0 6.0
                                                0.0 0.0 6.0 0.0 0.0</gml:posList>
                                        </gml:LinearRing>
                                    </gml:exterior>
                                </gml:Polygon>
                            </gml:surfaceMember>
                        </gml:MultiSurface>
                    </bldg:lod2MultiSurface>
                </bldg:WallSurface>
            </bldg:boundedBy>
            <bldg:boundedBy>
                <bldg:WallSurface gml:id="WallSurface_02">
                    <bldg:lod2MultiSurface>
                        <gml:MultiSurface>
                            <gml:surfaceMember>
                                <gml:Polygon gml:id="UUID_1bb72d46-bc5a-4bc0-80bc-d80ce29ad5c6">
                                    <gml:exterior>
                                        <gml:LinearRing>
                                            <gml:posList srsDimension="3">0.0 0.0 0.0 0.0 0.0 6.0 0.0 12.0 6.0 0.0 12.0 0.0 0.0
                                                0.0 0.0 0.0 0.0 0.0</gml:posList>
                                        </gml:LinearRing>
                                    </gml:exterior>
                                </gml:Polygon>
                            </gml:surfaceMember>
                        </gml:MultiSurface>
                    </bldg:lod2MultiSurface>
                </bldg:WallSurface>
            </bldg:boundedBy>
            <bldg:boundedBy>
                <bldg:WallSurface gml:id="WallSurface_03">
                    <bldg:lod2MultiSurface>
                        <gml:MultiSurface>
                            <gml:surfaceMember>
                                <gml:Polygon gml:id="UUID_8d59c933-b79e-4993-a64a-1fc69e93e81c">
                                    <gml:exterior>
                                        <gml:LinearRing>
                                            <gml:posList srsDimension="3">0.0 0.0 0.0 6.0 0.0 0.0 6.0 0.0 6.0 3.0 0.0 9.0 0.0 0.0
                                                6.0 0.0 0.0 0.0 0.0 0.0 0.0</gml:posList>
                                        </gml:LinearRing>
                                    </gml:exterior>
                                </gml:Polygon>
                            </gml:surfaceMember>
                        </gml:MultiSurface>
                    </bldg:lod2MultiSurface>
                </bldg:WallSurface>
            </bldg:boundedBy>
            <bldg:boundedBy>
                <bldg:WallSurface gml:id="WallSurface_04">
                    <bldg:lod2MultiSurface>
                        <gml:MultiSurface gml:id="MultiSurface_01">
                            <gml:surfaceMember>
                                <gml:Polygon gml:id="UUID_08371879-bde6-4ba6-9fc6-088ee2ce1913">
                                    <gml:exterior>
                                        <gml:LinearRing>
                                            <gml:posList srsDimension="3">6.0 12.0 0.0 0.0 12.0 0.0 0.0 12.0 6.0 3.0 12.0 9.0 6.0
                                                12.0 6.0 6.0 12.0 0.0 6.0 12.0 0.0</gml:posList>
                                        </gml:LinearRing>
                                    </gml:exterior>
                                </gml:Polygon>
                            </gml:surfaceMember>
                        </gml:MultiSurface>
                    </bldg:lod2MultiSurface>
                </bldg:WallSurface>
            </bldg:boundedBy>
            <bldg:boundedBy>
                <bldg:RoofSurface gml:id="RoofSurface_01">
                    <bldg:lod2MultiSurface>
                        <gml:MultiSurface>
                            <gml:surfaceMember>
                                <gml:Polygon gml:id="UUID_52abfd06-732b-4214-bbf2-fb742eace227">
                                    <gml:exterior>
                                        <gml:LinearRing>
                                            <gml:posList srsDimension="3">6.0 0.0 6.0 6.0 12.0 6.0 3.0 12.0 9.0 3.0 0.0 9.0 6.0
                                                0.0 6.0 6.0 0.0 6.0</gml:posList>
                                        </gml:LinearRing>
                                    </gml:exterior>
                                </gml:Polygon>
                            </gml:surfaceMember>
                        </gml:MultiSurface>
                    </bldg:lod2MultiSurface>
                </bldg:RoofSurface>
            </bldg:boundedBy>
            <bldg:boundedBy>
                <bldg:RoofSurface gml:id="RoofSurface_02">
                    <bldg:lod2MultiSurface>
                        <gml:MultiSurface>
                            <gml:surfaceMember>
                                <gml:Polygon gml:id="UUID_a1d5d9ef-4f5b-4249-9428-fd2e2ee57342">
                                    <gml:exterior>
                                        <gml:LinearRing>
                                            <gml:posList srsDimension="3">0.0 0.0 6.0 3.0 0.0 9.0 3.0 12.0 9.0 0.0 12.0 6.0 0.0
                                                0.0 6.0 0.0 0.0 6.0</gml:posList>
                                        </gml:LinearRing>
                                    </gml:exterior>
                                </gml:Polygon>
                            </gml:surfaceMember>
                        </gml:MultiSurface>
                    </bldg:lod2MultiSurface>
                </bldg:RoofSurface>
            </bldg:boundedBy>
        </bldg:Building>
    </core:cityObjectMember>
</core:CityModel>
