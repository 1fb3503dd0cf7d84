"""The registry's vocabularies. Values are the API's words; labels are what users read."""

from enum import StrEnum


class Level(StrEnum):
    """Highest designation on the key-project list (重点项目级别). None = in the library, not key."""

    PROVINCIAL_MAJOR_CONSTRUCTION = "provincial_major_construction"  # 省重大建设类
    PROVINCIAL_MAJOR_PREPARATION = "provincial_major_preparation"  # 省重大准备类
    PROVINCIAL_PREFERRED = "provincial_preferred"  # 省优选
    INVESTMENT_ATTRACTION = "investment_attraction"  # 双招双引
    CITY_KEY = "city_key"  # 市重点
    CITY_INFRASTRUCTURE = "city_infrastructure"  # 市城区基础设施
    COUNTY_KEY = "county_key"  # 县重点

    @property
    def label(self) -> str:
        return LEVEL_LABELS[self]


LEVEL_LABELS: dict[Level, str] = {
    Level.PROVINCIAL_MAJOR_CONSTRUCTION: "省重大建设类",
    Level.PROVINCIAL_MAJOR_PREPARATION: "省重大准备类",
    Level.PROVINCIAL_PREFERRED: "省优选",
    Level.INVESTMENT_ATTRACTION: "双招双引",
    Level.CITY_KEY: "市重点",
    Level.CITY_INFRASTRUCTURE: "市城区基础设施",
    Level.COUNTY_KEY: "县重点",
}


class Track(StrEnum):
    """实施类 implementation vs 准备类 preparation."""

    IMPLEMENTATION = "implementation"  # 实施类
    PREPARATION = "preparation"  # 准备类


TRACK_LABELS: dict[Track, str] = {Track.IMPLEMENTATION: "实施类", Track.PREPARATION: "准备类"}


class Stage(StrEnum):
    """Four-batch stage 四个一批, plus withdrawn 退出."""

    PLANNING = "planning"  # 谋划
    RESERVE = "reserve"  # 储备
    STARTED = "started"  # 开工
    COMPLETED = "completed"  # 竣工
    WITHDRAWN = "withdrawn"  # 退出


STAGE_LABELS: dict[Stage, str] = {
    Stage.PLANNING: "谋划",
    Stage.RESERVE: "储备",
    Stage.STARTED: "开工",
    Stage.COMPLETED: "竣工",
    Stage.WITHDRAWN: "退出",
}


class ListChangeKind(StrEnum):
    """Changes to the key list during the year (增补 / 调整 / 退出)."""

    ADDED = "added"  # 增补: put on the key list at a level
    ADJUSTED = "adjusted"  # 调整: moved to another level
    WITHDRAWN = "withdrawn"  # 退出: taken off the key list


LIST_CHANGE_LABELS: dict[ListChangeKind, str] = {
    ListChangeKind.ADDED: "增补",
    ListChangeKind.ADJUSTED: "调整",
    ListChangeKind.WITHDRAWN: "退出",
}
