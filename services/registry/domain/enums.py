"""The registry's vocabularies. The values are the event contract's words (defined in the
catalogue, so every consumer shares them); the labels here are what users read."""

from shared.events.catalogue.registry import Level, ListChangeKind, Stage, Track

__all__ = [
    "LEVEL_LABELS",
    "LIST_CHANGE_LABELS",
    "STAGE_LABELS",
    "TRACK_LABELS",
    "Level",
    "ListChangeKind",
    "Stage",
    "Track",
]


LEVEL_LABELS: dict[Level, str] = {
    Level.PROVINCIAL_MAJOR_CONSTRUCTION: "省重大建设类",
    Level.PROVINCIAL_MAJOR_PREPARATION: "省重大准备类",
    Level.PROVINCIAL_PREFERRED: "省优选",
    Level.INVESTMENT_ATTRACTION: "双招双引",
    Level.CITY_KEY: "市重点",
    Level.CITY_INFRASTRUCTURE: "市城区基础设施",
    Level.COUNTY_KEY: "县重点",
}


TRACK_LABELS: dict[Track, str] = {Track.IMPLEMENTATION: "实施类", Track.PREPARATION: "准备类"}


STAGE_LABELS: dict[Stage, str] = {
    Stage.PLANNING: "谋划",
    Stage.RESERVE: "储备",
    Stage.STARTED: "开工",
    Stage.COMPLETED: "竣工",
    Stage.WITHDRAWN: "退出",
}


LIST_CHANGE_LABELS: dict[ListChangeKind, str] = {
    ListChangeKind.ADDED: "增补",
    ListChangeKind.ADJUSTED: "调整",
    ListChangeKind.WITHDRAWN: "退出",
}
