"""The Binzhou 2020 demo library: the 四个一批 library as reported in May 2020.

Deterministic (`random.Random(2020)`, no wall clock) and pure: it builds data, it stores nothing.
The figures match the municipal report: 1,191 projects with 7,844 亿元 total investment, 433 on
the key list (10 provincial major construction, 3 provincial major preparation, 6 provincial
preferred, 4 investment attraction, 52 city key, 6 city urban infrastructure, 352 county key).
Key implementation projects carry a 2020 plan and monthly reports for January–April 2020.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from services.registry.domain.enums import Level, ListChangeKind, Stage, Track
from services.registry.schemas import ProjectCreate
from shared.regions import Division, RegionTable, load_region_table

SEED = 2020
YEAR = 2020
REPORT_MONTHS = (1, 2, 3, 4)  # monthly reports through April 2020
AS_OF = date(2020, 4, 30)  # no demo date is later than this
TOTAL_PROJECTS = 1191
TOTAL_INVESTMENT = Decimal(78_440_000)  # 万元 = 7,844 亿元
LEVEL_MIX: dict[Level, int] = {
    Level.PROVINCIAL_MAJOR_CONSTRUCTION: 10,
    Level.PROVINCIAL_MAJOR_PREPARATION: 3,
    Level.PROVINCIAL_PREFERRED: 6,
    Level.INVESTMENT_ATTRACTION: 4,
    Level.CITY_KEY: 52,
    Level.CITY_INFRASTRUCTURE: 6,
    Level.COUNTY_KEY: 352,
}
KEY_TOTAL = sum(LEVEL_MIX.values())  # 433


# ---------------------------------------------------------------- the result


@dataclass(frozen=True)
class DemoPlan:
    """The 2020 annual plan: 万元, cumulative targets for months 1..12 (12 = annual)."""

    year: int
    annual_investment: Decimal
    monthly_targets: dict[int, Decimal]


@dataclass(frozen=True)
class DemoReport:
    """A monthly report 月度调度: period YYYY-MM, cumulative YTD and the month's increase."""

    period: str
    ytd_investment: Decimal
    month_investment: Decimal
    started: bool
    progress_note: str


@dataclass(frozen=True)
class DemoListChange:
    """A key-list change 增补/调整/退出: `level` is the new level (None when withdrawn)."""

    kind: ListChangeKind
    level: Level | None
    effective_date: date
    reason: str


@dataclass(frozen=True)
class DemoProject:
    project: ProjectCreate
    plan: DemoPlan | None = None
    reports: list[DemoReport] = field(default_factory=list)
    stage_moves: list[tuple[Stage, date]] = field(default_factory=list)
    list_changes: list[DemoListChange] = field(default_factory=list)


# ---------------------------------------------------------------- Binzhou, as data


@dataclass(frozen=True)
class _Profile:
    weight: float
    prefix: str  # how project names begin
    place: str  # how company names begin
    centre: tuple[float, float]  # lng, lat
    spread: float
    favoured: dict[str, float]  # industry → weight multiplier


_PROFILES: dict[str, _Profile] = {
    "滨城区": _Profile(
        0.16,
        "滨城区",
        "滨州",
        (117.97, 37.42),
        0.07,
        {"高端化工": 2, "基础设施": 1.6, "医养健康": 1.6, "社会民生": 1.6, "现代物流": 1.4},
    ),
    "沾化区": _Profile(
        0.08, "沾化区", "沾化", (118.10, 37.70), 0.08, {"高端化工": 2, "新能源": 2, "现代农业": 2.2}
    ),
    "惠民县": _Profile(
        0.10,
        "惠民县",
        "惠民",
        (117.51, 37.49),
        0.08,
        {"纺织家纺": 1.8, "现代农业": 1.6, "新能源": 1.4, "文化旅游": 2},
    ),
    "阳信县": _Profile(
        0.08, "阳信县", "阳信", (117.58, 37.64), 0.06, {"现代农业": 3, "粮食加工": 2}
    ),
    "无棣县": _Profile(
        0.09,
        "无棣县",
        "无棣",
        (117.62, 37.77),
        0.08,
        {"高端化工": 2, "新能源": 2.5, "现代物流": 1.5},
    ),
    "博兴县": _Profile(
        0.14,
        "博兴县",
        "博兴",
        (118.11, 37.15),
        0.07,
        {"高端装备": 3, "粮食加工": 2, "高端化工": 1.5},
    ),
    "邹平市": _Profile(
        0.19, "邹平市", "邹平", (117.74, 36.90), 0.07, {"铝业": 6, "纺织家纺": 3, "粮食加工": 2}
    ),
    "滨州经济技术开发区": _Profile(
        0.06,
        "滨州经开区",
        "滨州",
        (118.03, 37.34),
        0.03,
        {"高端装备": 2, "新材料": 2, "现代物流": 2, "新基建": 1.5},
    ),
    "滨州高新技术产业开发区": _Profile(
        0.05, "滨州高新区", "滨州", (118.12, 37.28), 0.03, {"新材料": 3, "新基建": 2, "医养健康": 2}
    ),
    "北海经济开发区": _Profile(
        0.05,
        "北海经开区",
        "滨州北海",
        (117.95, 38.05),
        0.04,
        {"高端化工": 3, "铝业": 3, "新能源": 2, "现代物流": 2},
    ),
}

# Provincial and city urban infrastructure projects, one division name each (the article's
# 10 + 3 + 6 + 4 and 6).
_NAMED_DIVISIONS: dict[Level, tuple[str, ...]] = {
    Level.PROVINCIAL_MAJOR_CONSTRUCTION: (
        "邹平市",
        "邹平市",
        "滨城区",
        "滨城区",
        "博兴县",
        "沾化区",
        "无棣县",
        "惠民县",
        "北海经济开发区",
        "滨州经济技术开发区",
    ),
    Level.PROVINCIAL_MAJOR_PREPARATION: ("阳信县", "滨州高新技术产业开发区", "滨城区"),
    Level.PROVINCIAL_PREFERRED: (
        "邹平市",
        "博兴县",
        "阳信县",
        "滨州高新技术产业开发区",
        "惠民县",
        "沾化区",
    ),
    Level.INVESTMENT_ATTRACTION: ("滨城区", "邹平市", "滨州经济技术开发区", "无棣县"),
    Level.CITY_INFRASTRUCTURE: (
        "滨城区",
        "滨城区",
        "滨城区",
        "滨城区",
        "滨州经济技术开发区",
        "滨州高新技术产业开发区",
    ),
}

# 亿元 ranges of total investment (log-uniform), before the library is scaled to 7,844 亿元.
_AMOUNT_RANGE: dict[Level | None, tuple[float, float]] = {
    Level.PROVINCIAL_MAJOR_CONSTRUCTION: (20, 120),
    Level.PROVINCIAL_MAJOR_PREPARATION: (50, 200),
    Level.PROVINCIAL_PREFERRED: (10, 60),
    Level.INVESTMENT_ATTRACTION: (10, 50),
    Level.CITY_KEY: (3, 40),
    Level.CITY_INFRASTRUCTURE: (1, 12),
    Level.COUNTY_KEY: (0.5, 15),
    None: (0.3, 35),
}


@dataclass(frozen=True)
class _Industry:
    name: str
    code: int  # 国民经济行业大类, the old code's industry part
    weight: float  # how common it is
    scale: float  # how large its projects are, relative to the level's range
    public: bool  # government-run (owner and unit are public bodies)
    tags: tuple[tuple[str, float], ...]
    products: tuple[str, ...]
    templates: tuple[tuple[str, str, tuple[int, ...]], ...]  # name, content, choices for {n}
    owner_suffixes: tuple[str, ...]
    units: tuple[str, ...]  # responsible departments


_CLUSTER = "五大千亿级产业集群"
_INDUSTRIES: tuple[_Industry, ...] = (
    _Industry(
        "高端化工",
        26,
        8,
        1.4,
        False,
        ((_CLUSTER, 0.85),),
        (
            "聚碳酸酯",
            "环氧丙烷",
            "丙烯酸及酯",
            "己内酰胺",
            "高端润滑油",
            "电子级化学品",
            "精细化工中间体",
            "水性涂料",
            "聚醚多元醇",
            "碳酸二甲酯",
            "离子膜烧碱",
            "特种环氧树脂",
            "医药中间体",
            "高性能聚丙烯",
        ),
        (
            (
                "年产{n}万吨{p}项目",
                "新建{p}生产装置及配套储运、公用工程设施，建成后年产{p}{n}万吨",
                (2, 3, 5, 8, 10, 15, 20, 30, 40, 60),
            ),
            (
                "{p}装置技术改造项目",
                "对现有{p}装置实施节能降耗、安全环保技术改造，新增DCS控制系统及尾气处理设施",
                (),
            ),
            (
                "{n}万吨/年{p}绿色升级项目",
                "采用清洁生产工艺建设{p}装置{n}万吨/年，配套建设罐区及污水处理设施",
                (5, 10, 20, 30),
            ),
        ),
        ("化工有限公司", "石化有限公司", "新材料科技有限公司"),
        ("工业和信息化局", "发展和改革局", "应急管理局"),
    ),
    _Industry(
        "铝业",
        32,
        3,
        1.4,
        False,
        ((_CLUSTER, 0.95),),
        (
            "高端铝材",
            "高精铝板带",
            "电池铝箔",
            "再生铝",
            "高纯铝",
            "铝合金型材",
            "汽车轻量化铝部件",
            "铝合金棒材",
            "航空航天用铝板",
        ),
        (
            (
                "年产{n}万吨{p}项目",
                "新建熔铸、轧制（挤压）车间及配套设施，购置先进生产设备，年产{p}{n}万吨",
                (5, 10, 15, 20, 30, 50),
            ),
            (
                "年产{n}万只铝合金轮毂项目",
                "新建铸造、机加工、涂装车间，购置低压铸造机、数控车床等设备，年产铝合金轮毂{n}万只",
                (100, 200, 300, 500),
            ),
            ("{p}精深加工项目", "建设{p}精深加工生产线，延伸铝产业链条，提高产品附加值", ()),
        ),
        ("铝业有限公司", "铝材科技有限公司", "轻合金有限公司"),
        ("工业和信息化局", "发展和改革局"),
    ),
    _Industry(
        "纺织家纺",
        17,
        4,
        0.9,
        False,
        ((_CLUSTER, 0.9),),
        ("高档家纺面料", "功能性面料", "数码印花面料", "色织面料", "医用防护面料"),
        (
            (
                "年产{n}万米{p}项目",
                "新建织造、印染车间，购置喷气织机、数码印花机等设备，年产{p}{n}万米",
                (1000, 2000, 3000, 5000, 8000),
            ),
            (
                "{n}万锭智能化纺纱项目",
                "建设智能化纺纱车间，引进细纱机、络筒机等设备，形成{n}万锭纺纱能力",
                (10, 20, 30, 50),
            ),
            (
                "年产{n}吨熔喷无纺布项目",
                "新建熔喷无纺布生产线及洁净车间，年产熔喷无纺布{n}吨",
                (1000, 2000, 3000, 5000),
            ),
            (
                "年产{n}万套高档家纺制品项目",
                "建设家纺制品缝制车间及智能仓储，年产高档家纺制品{n}万套",
                (100, 200, 500),
            ),
        ),
        ("纺织有限公司", "家纺有限公司", "印染有限公司"),
        ("工业和信息化局", "发展和改革局"),
    ),
    _Industry(
        "粮食加工",
        13,
        5,
        0.9,
        False,
        ((_CLUSTER, 0.9),),
        (
            "玉米淀粉",
            "大豆分离蛋白",
            "专用面粉",
            "食用植物油",
            "小麦谷朊粉",
            "低聚糖",
            "结晶果糖",
            "膳食纤维",
            "功能性糖醇",
        ),
        (
            (
                "年产{n}万吨{p}项目",
                "新建生产车间、原料仓储及配套设施，购置自动化生产线，年产{p}{n}万吨",
                (1, 2, 3, 5, 10, 20, 30, 50),
            ),
            (
                "{n}万吨粮食仓储物流项目",
                "新建平房仓、浅圆仓及烘干、物流设施，新增仓容{n}万吨",
                (5, 10, 20, 30),
            ),
        ),
        ("粮油食品有限公司", "生物科技有限公司", "食品有限公司"),
        ("工业和信息化局", "发展和改革局", "粮食和物资储备中心"),
    ),
    _Industry(
        "新能源",
        44,
        6,
        1.2,
        False,
        (("新基建", 0.15),),
        (
            "光伏发电",
            "渔光互补光伏发电",
            "风电",
            "农光互补光伏发电",
            "盐光互补光伏发电",
            "分散式风电",
        ),
        (
            (
                "{n}MW{p}项目",
                "建设{p}场站及升压站、集电线路等配套设施，装机容量{n}MW",
                (50, 100, 150, 200, 300),
            ),
            (
                "{n}MW储能电站项目",
                "建设电化学储能电站，装机规模{n}MW，配套建设升压及监控系统",
                (50, 100, 200),
            ),
            (
                "生物质热电联产项目",
                "建设高温高压生物质锅炉及汽轮发电机组，年处理农林废弃物{n}万吨",
                (20, 30, 40),
            ),
            (
                "氢能产业园项目",
                "建设副产氢提纯、加氢站及燃料电池应用示范设施，年产高纯氢{n}吨",
                (1000, 3000, 5000),
            ),
        ),
        ("新能源有限公司", "电力有限公司", "能源科技有限公司"),
        ("发展和改革局", "能源局"),
    ),
    _Industry(
        "新基建",
        65,
        5,
        0.8,
        False,
        (("新基建", 1.0),),
        (
            "5G基站建设",
            "大数据中心",
            "工业互联网平台",
            "智慧城市",
            "新能源汽车充电基础设施",
            "城市物联网感知体系",
            "智慧交通",
            "云计算中心",
            "智慧农业平台",
            "工业互联网标识解析二级节点",
        ),
        (
            (
                "{p}项目",
                "建设{p}及配套机房、网络和运维设施，总建筑面积{n}平方米",
                (3000, 5000, 8000, 12000),
            ),
        ),
        ("信息科技有限公司", "数字科技有限公司", "通信技术有限公司"),
        ("工业和信息化局", "大数据局"),
    ),
    _Industry(
        "医养健康",
        84,
        6,
        0.6,
        True,
        (("补短板", 0.7), ("抗疫特别国债", 0.4)),
        (
            "人民医院新院区",
            "中医医院综合楼",
            "妇幼保健院迁建",
            "康养中心",
            "医养结合示范中心",
            "疾控中心实验室能力提升",
            "公共卫生应急救治中心",
            "传染病医院",
            "乡镇卫生院提升改造",
            "医疗器械产业园",
            "生物医药产业园",
        ),
        (
            (
                "{p}项目",
                "新建{p}业务用房{n}平方米，购置医疗设备及配套设施",
                (8000, 15000, 30000, 60000),
            ),
        ),
        ("人民医院", "卫生健康局", "健康产业发展有限公司"),
        ("卫生健康局",),
    ),
    _Industry(
        "基础设施",
        48,
        14,
        1.0,
        True,
        (("补短板", 0.8), ("抗疫特别国债", 0.25)),
        ("道路改造提升", "道路新建", "雨污分流改造", "拓宽改造"),
        (
            ("{road}{p}工程", "{road}{p}，全长{n}公里，含道路、排水、照明及绿化工程", (2, 3, 5, 8)),
            (
                "第{cn}污水处理厂提标改造项目",
                "污水处理厂提标改造至准IV类标准，日处理能力{n}万吨",
                (2, 3, 4),
            ),
            ("城区集中供热管网改造项目", "改造供热主管网{n}公里，新建换热站", (10, 20, 30)),
            (
                "{river}综合治理工程",
                "{river}河道清淤、堤防加固及生态修复，治理长度{n}公里",
                (10, 20, 30),
            ),
            (
                "城乡供水一体化项目",
                "新建水厂及城乡供水管网{n}公里，实现城乡供水同源同网同质",
                (50, 100, 200),
            ),
            (
                "老旧小区改造项目",
                "改造老旧小区{n}个，实施管网更新、外墙保温、加装电梯等",
                (10, 20, 30),
            ),
            ("农村公路提升改造工程", "提升改造农村公路{n}公里", (50, 100, 150)),
            ("{n}千伏输变电工程", "新建{n}千伏变电站一座及配套线路", (110, 220)),
            ("海绵城市建设项目", "实施海绵城市改造{n}平方公里", (2, 5, 8)),
            ("城市地下综合管廊项目", "建设地下综合管廊{n}公里", (3, 5, 8)),
        ),
        ("住房和城乡建设局", "交通运输局", "城市建设投资发展有限公司", "水利局"),
        ("住房和城乡建设局", "交通运输局", "水利局"),
    ),
    _Industry(
        "高端装备",
        36,
        7,
        1.0,
        False,
        ((_CLUSTER, 0.3),),
        (
            "汽车零部件",
            "智能农机装备",
            "商用厨具",
            "高档数控机床",
            "风电装备",
            "工业机器人",
            "精密铸件",
            "轨道交通装备部件",
            "环保装备",
        ),
        (
            (
                "年产{n}万件{p}项目",
                "新建生产车间及研发中心，购置加工中心、焊接机器人等设备，年产{p}{n}万件",
                (10, 20, 50, 100),
            ),
            (
                "{p}智能制造项目",
                "建设{p}智能化生产线及数字化车间，新增生产设备{n}台（套）",
                (80, 120, 200),
            ),
            ("{p}产业园项目", "建设{p}标准厂房{n}万平方米及配套设施", (5, 10, 20)),
        ),
        ("机械有限公司", "智能装备有限公司", "重工有限公司"),
        ("工业和信息化局", "科学技术局"),
    ),
    _Industry(
        "新材料",
        30,
        5,
        1.0,
        False,
        (),
        (
            "碳纤维复合材料",
            "高性能陶瓷",
            "石墨烯材料",
            "特种玻璃纤维",
            "绿色建材",
            "新型保温材料",
            "高分子复合材料",
        ),
        (("年产{n}万吨{p}项目", "新建{p}生产线及配套设施，年产{p}{n}万吨", (1, 2, 5, 10, 20)),),
        ("新材料有限公司", "材料科技有限公司"),
        ("工业和信息化局", "科学技术局"),
    ),
    _Industry(
        "现代物流",
        59,
        5,
        0.9,
        False,
        (("补短板", 0.3),),
        (
            "智慧物流园",
            "冷链物流中心",
            "港口物流园",
            "保税物流中心",
            "电商物流产业园",
            "铁路物流基地",
            "农产品批发市场",
        ),
        (
            (
                "{p}项目",
                "建设{p}仓储、分拣及配送设施{n}万平方米，配套智能化管理系统",
                (3, 5, 10, 20),
            ),
        ),
        ("物流有限公司", "供应链管理有限公司", "港务有限公司"),
        ("商务局", "交通运输局"),
    ),
    _Industry(
        "现代农业",
        3,
        6,
        0.5,
        False,
        (("补短板", 0.3),),
        ("肉牛养殖", "奶牛养殖", "生猪养殖"),
        (
            (
                "存栏{n}头{p}项目",
                "建设标准化{p}场及粪污资源化利用设施，存栏{n}头",
                (3000, 5000, 10000, 20000),
            ),
            (
                "{n}亩冬枣标准化示范园项目",
                "建设冬枣标准化种植示范园{n}亩，配套冷库及分拣中心",
                (1000, 3000, 5000),
            ),
            (
                "{n}万亩高标准农田建设项目",
                "建设高标准农田{n}万亩，配套灌排及田间道路",
                (1, 2, 5, 10),
            ),
            ("年产{n}万吨有机肥项目", "建设有机肥生产线，年产有机肥{n}万吨", (5, 10, 20)),
        ),
        ("农业发展有限公司", "牧业有限公司", "生态农业有限公司"),
        ("农业农村局",),
    ),
    _Industry(
        "文化旅游",
        87,
        4,
        0.8,
        False,
        (("补短板", 0.2),),
        (
            "文化旅游综合体",
            "黄河生态文化旅游区",
            "特色小镇",
            "全域旅游服务中心",
            "乡村振兴示范区",
            "体育公园",
            "非遗文化街区",
        ),
        (("{p}项目", "建设{p}及游客服务、停车等配套设施，占地{n}亩", (200, 500, 1000, 2000)),),
        ("文化旅游发展有限公司", "旅游开发有限公司"),
        ("文化和旅游局",),
    ),
    _Industry(
        "社会民生",
        83,
        8,
        0.35,
        True,
        (("补短板", 0.6), ("抗疫特别国债", 0.1)),
        (
            "实验学校",
            "职业教育实训基地",
            "幼儿园建设",
            "全民健身中心",
            "养老服务中心",
            "保障性安居工程",
            "棚户区改造",
        ),
        (
            ("{p}项目", "建设{p}，总建筑面积{n}平方米", (10000, 20000, 40000, 80000)),
            (
                "第{cn}中学新建项目",
                "新建教学楼、实验楼、宿舍及运动场，办学规模{k}个班",
                (2, 3, 4, 5, 6, 7, 8),
            ),
        ),
        ("教育和体育局", "城市建设投资发展有限公司"),
        ("教育和体育局", "住房和城乡建设局"),
    ),
)
_INDUSTRY = {i.name: i for i in _INDUSTRIES}
_ROADS = (
    "黄河五路",
    "渤海十八路",
    "长江二路",
    "黄河十二路",
    "渤海七路",
    "新立河西路",
    "梧桐五路",
    "东海一路",
    "中海路",
    "滨北路",
    "凤凰三路",
    "府前大街",
    "建设路",
    "人民路",
    "胜利路",
    "新华路",
    "工业大道",
    "文化路",
    "迎宾大道",
    "东风路",
    "朝阳路",
    "振兴路",
    "学苑路",
    "海丰大街",
    "富源路",
    "育才路",
    "开发区大道",
    "经一路",
    "纬二路",
    "环城北路",
)
_RIVERS = (
    "徒骇河",
    "秦口河",
    "德惠新河",
    "潮河",
    "小开河",
    "支脉河",
    "杏花河",
    "马颊河",
    "沙河",
    "孝妇河",
)
_BRANDS = (
    "鑫源",
    "华宇",
    "宏泰",
    "金汇",
    "瑞丰",
    "博远",
    "润泽",
    "海川",
    "广源",
    "同泰",
    "鲁源",
    "渤润",
    "盛和",
    "天成",
    "中泽",
    "立德",
    "宏远",
    "嘉禾",
    "永盛",
    "昌隆",
    "德润",
    "聚源",
    "通达",
    "信诚",
    "华康",
    "正阳",
    "东泰",
    "福瑞",
    "金诺",
    "新润",
    "安泰",
    "弘毅",
    "汇泽",
    "久泰",
    "凯盛",
    "恒信",
    "远航",
    "顺和",
    "惠丰",
    "鼎盛",
)
_SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段"
_GIVEN = (
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚文辉鹏华红玉建峰晓宁凯婷浩鑫雪琳博海东波颖晨亮斌"
)
_LEADER_TITLES = {
    "district": ("书记", "区长", "常务副区长", "副区长", "副区长", "副区长"),
    "county": ("书记", "县长", "常务副县长", "副县长", "副县长", "副县长"),
    "county_city": ("书记", "市长", "常务副市长", "副市长", "副市长", "副市长"),
    "zone": ("书记", "主任", "常务副主任", "副主任", "副主任", "副主任"),
}
_CITY_TITLES = ("书记", "市长", "常务副市长", "副市长", "副市长", "副市长", "副市长", "副市长")
_CHINESE_NUMERALS = {2: "二", 3: "三", 4: "四", 5: "五", 6: "六", 7: "七", 8: "八"}
_ZONE_UNITS = ("经济发展局", "建设管理局", "社会事业局", "招商服务中心")

# Month weights of investment through the year (winter and the epidemic slow Jan–Feb 2020).
_PLAN_WEIGHTS = (0.5, 0.4, 0.9, 1.0, 1.1, 1.1, 1.0, 1.0, 1.1, 1.1, 1.0, 0.8)
_REPORT_WEIGHTS = (1.0, 0.4, 1.2, 1.5)
_PLANNED_START_MONTHS = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12)
_PLANNED_START_WEIGHTS = (5, 10, 20, 20, 12, 12, 8, 5, 4, 2, 1, 1)


# ---------------------------------------------------------------- the build


@dataclass
class _Draft:
    """A project while it is being built (amounts settle before plans are drawn)."""

    division: Division
    level: Level | None
    track: Track
    industry: _Industry
    stage: Stage
    fate: str  # continuing | completing | new | library
    amount: float
    name: str = ""
    content: str = ""
    code: str | None = None
    planned_start: date | None = None
    planned_completion: date | None = None
    actual_start: date | None = None
    actual_completion: date | None = None
    moves: list[tuple[Stage, date]] = field(default_factory=list)
    owner: str | None = None
    leader: str | None = None
    service_officer: str | None = None
    responsible_unit: str | None = None
    tags: list[str] = field(default_factory=list)
    location: tuple[Decimal, Decimal] | None = None
    total: Decimal = Decimal(0)
    reports_wanted: bool = False
    list_changes: list[DemoListChange] = field(default_factory=list)


def demo_library() -> list[DemoProject]:
    """The 1,191 projects of the Binzhou 2020 library, the same on every call."""
    return _Builder(random.Random(SEED), load_region_table()).build()


class _Builder:
    def __init__(self, rng: random.Random, regions: RegionTable) -> None:
        self.rng = rng
        self.divisions = [regions.resolve(name) for name in _PROFILES]
        self.names: set[str] = set()
        self.serials = iter(rng.sample(range(1, 1_000_000), TOTAL_PROJECTS))
        self.rosters = {d.code: self._roster(d) for d in self.divisions}
        self.city_leaders = self._people(_CITY_TITLES)

    # -- people
    def _people(self, titles: tuple[str, ...]) -> list[str]:
        surnames = self.rng.sample(_SURNAMES, len(titles))
        return [s + t for s, t in zip(surnames, titles, strict=True)]

    def _person(self) -> str:
        given = "".join(self.rng.sample(_GIVEN, self.rng.choice((1, 2, 2))))
        return self.rng.choice(_SURNAMES) + given

    def _roster(self, division: Division) -> dict[str, list[str]]:
        return {
            "leaders": self._people(_LEADER_TITLES[division.kind]),
            "officers": [self._person() for _ in range(18)],
        }

    # -- allocation
    def _slots(self) -> list[tuple[Division, Level | None]]:
        weights = [_PROFILES[d.name].weight for d in self.divisions]
        by_name = {d.name: d for d in self.divisions}
        counts: dict[str, dict[Level | None, int]] = {d.name: {} for d in self.divisions}
        for level, names in _NAMED_DIVISIONS.items():
            for name in names:
                counts[name][level] = counts[name].get(level, 0) + 1
        for level, minimum in ((Level.CITY_KEY, 2), (Level.COUNTY_KEY, 12)):
            for division, n in zip(
                self.divisions, _apportion(LEVEL_MIX[level], weights, minimum), strict=True
            ):
                counts[division.name][level] = n
        totals = _apportion(TOTAL_PROJECTS, weights, 30)
        slots: list[tuple[Division, Level | None]] = []
        for division, total in zip(self.divisions, totals, strict=True):
            key = counts[division.name]
            for level in LEVEL_MIX:
                slots += [(by_name[division.name], level)] * key.get(level, 0)
            slots += [(division, None)] * (total - sum(key.values()))
        return slots

    # -- one project
    def _draft(self, division: Division, level: Level | None) -> _Draft:
        rng = self.rng
        industry = self._industry(division, level)
        if level is Level.PROVINCIAL_MAJOR_PREPARATION:
            track = Track.PREPARATION
        elif level in (Level.CITY_KEY, Level.COUNTY_KEY):
            track = Track.PREPARATION if rng.random() < 0.12 else Track.IMPLEMENTATION
        elif level is None:
            track = Track.PREPARATION if rng.random() < 0.45 else Track.IMPLEMENTATION
        else:
            track = Track.IMPLEMENTATION

        if level is not None and track is Track.IMPLEMENTATION:
            roll = rng.random()
            fate = "continuing" if roll < 0.28 else "completing" if roll < 0.31 else "new"
        else:
            fate = "library"
        lo, hi = _AMOUNT_RANGE[level]
        if level is None and track is Track.PREPARATION:
            hi = 45
        amount = math.exp(rng.uniform(math.log(lo), math.log(hi))) * 10_000 * industry.scale
        draft = _Draft(division, level, track, industry, Stage.PLANNING, fate, amount)
        self._dates_and_stage(draft)
        self._name(draft)
        self._people_and_place(draft)
        return draft

    def _industry(self, division: Division, level: Level | None) -> _Industry:
        if level is Level.CITY_INFRASTRUCTURE:
            return _INDUSTRY["基础设施"]
        favoured = _PROFILES[division.name].favoured
        choices = list(_INDUSTRIES)
        weights = [i.weight * favoured.get(i.name, 1.0) for i in choices]
        if level is not None and level is not Level.COUNTY_KEY:
            # provincial and city projects lean to industry
            weights = [
                w * (0.5 if i.public else 1.5) for w, i in zip(weights, choices, strict=True)
            ]
        return self.rng.choices(choices, weights)[0]

    def _dates_and_stage(self, d: _Draft) -> None:
        rng = self.rng
        if d.fate in ("continuing", "completing"):
            d.actual_start = _between(
                rng,
                date(2018, 9, 1) if d.fate == "completing" else date(2019, 3, 1),
                date(2019, 12, 20),
            )
            d.planned_start = d.actual_start - timedelta(days=rng.choice((0, 0, 10, 20, 45)))
            d.stage = Stage.STARTED
            if d.fate == "completing":
                finish = _between(rng, date(2020, 3, 1), date(2020, 4, 28))
                d.planned_completion = date(2020, rng.choice((3, 4, 5, 6)), 30)
                d.moves.append((Stage.COMPLETED, finish))
            else:
                d.planned_completion = date(
                    rng.choice((2020, 2021, 2021, 2022)), rng.randint(1, 12), 28
                )
                if d.planned_completion <= AS_OF:
                    d.planned_completion = date(2020, 12, 31)
            d.reports_wanted = True
        elif d.fate == "new":
            d.stage = Stage.RESERVE
            month = rng.choices(_PLANNED_START_MONTHS, _PLANNED_START_WEIGHTS)[0]
            d.planned_start = date(YEAR, month, rng.choice((1, 1, 10, 15, 20)))
            d.planned_completion = _add_months(
                d.planned_start, rng.choice((10, 12, 18, 24, 30, 36))
            )
            chance = 0.72 if month <= 3 else 0.5 if month == 4 else 0.08 if month <= 6 else 0.0
            if rng.random() < chance:
                self._start_in_2020(d)
            d.reports_wanted = month <= 4 or bool(d.moves)
        else:
            self._library_stage(d)
        if d.stage is not Stage.PLANNING and (
            d.moves or d.stage is not Stage.RESERVE or rng.random() < (0.9 if d.level else 0.7)
        ):
            d.code = self._code(d)

    def _start_in_2020(self, d: _Draft) -> None:
        assert d.planned_start is not None
        rng = self.rng
        if d.planned_start.month == 1 and rng.random() < 0.25:
            start = _between(rng, d.planned_start, date(2020, 1, 20))  # before the Spring Festival
        else:
            earliest = (
                max(d.planned_start, date(2020, 2, 17))
                if d.planned_start.month <= 4
                else date(2020, 4, 1)
            )
            start = _between(rng, earliest, date(2020, 4, 28))
        d.moves.append((Stage.STARTED, start))

    def _library_stage(self, d: _Draft) -> None:
        rng = self.rng
        if d.track is Track.PREPARATION:
            d.stage = Stage.PLANNING if rng.random() < 0.6 else Stage.RESERVE
            if d.stage is Stage.RESERVE or rng.random() < 0.5:
                d.planned_start = date(rng.choice((2021, 2021, 2022)), rng.randint(1, 12), 1)
        else:
            roll = rng.random()
            if roll < 0.30:
                d.stage = Stage.PLANNING
                if rng.random() < 0.6:
                    d.planned_start = date(rng.choice((2020, 2021)), rng.randint(7, 12), 1)
            elif roll < 0.76:
                d.stage = Stage.RESERVE
                d.planned_start = date(YEAR, rng.randint(1, 12), rng.choice((1, 15)))
                if d.planned_start.month <= 4 and rng.random() < 0.45:
                    self._start_in_2020(d)
                    d.reports_wanted = rng.random() < 0.3
            elif roll < 0.95:
                d.stage = Stage.STARTED
                d.actual_start = _between(rng, date(2019, 1, 10), date(2019, 12, 20))
                d.planned_start = d.actual_start - timedelta(days=rng.choice((0, 0, 15, 30)))
                d.reports_wanted = rng.random() < 0.4
            else:
                d.stage = Stage.COMPLETED
                d.actual_start = _between(rng, date(2018, 9, 1), date(2019, 6, 30))
                d.actual_completion = _between(rng, date(2019, 10, 1), date(2020, 3, 31))
                d.planned_start = d.actual_start
                d.planned_completion = date(d.actual_completion.year, d.actual_completion.month, 1)
        if d.planned_start is not None and d.planned_completion is None:
            d.planned_completion = _add_months(d.planned_start, rng.choice((12, 18, 24, 36)))

    def _code(self, d: _Draft) -> str:
        start = d.actual_start or (d.moves[0][1] if d.moves else None)
        year = (
            2019 if start is not None and start.year < 2020 else self.rng.choice((2019, 2020, 2020))
        )
        kind = "01" if d.industry.public else "02" if d.industry.code in (26, 44) else "03"
        return f"{year}-{d.division.code}-{d.industry.code:02d}-{kind}-{next(self.serials):06d}"

    def _name(self, d: _Draft) -> None:
        rng, industry = self.rng, d.industry
        prefix = _PROFILES[d.division.name].prefix
        for attempt in range(40):
            template, content, numbers = rng.choice(industry.templates)
            n = rng.choice(numbers) if numbers else 0
            values = {
                "p": rng.choice(industry.products),
                "n": str(n),
                "cn": _CHINESE_NUMERALS.get(n, str(n)),
                "road": rng.choice(_ROADS),
                "river": rng.choice(_RIVERS),
                "k": str(rng.choice((24, 36, 48, 60))),
            }
            core = template.format(**values)
            if attempt >= 10:  # crowded: a second or third phase of a similar project
                phase = ("二期", "三期", "四期")[(attempt - 10) % 3]
                core = core[:-2] + phase + core[-2:]
            name = prefix + core
            if name not in self.names:
                self.names.add(name)
                d.name, d.content = name, content.format(**values)
                return
        message = f"no free project name for {prefix} {industry.name}"
        raise AssertionError(message)  # pragma: no cover

    def _people_and_place(self, d: _Draft) -> None:
        rng, industry = self.rng, d.industry
        profile = _PROFILES[d.division.name]
        roster = self.rosters[d.division.code]
        unit_prefix = profile.prefix if d.division.kind == "zone" else d.division.name
        if d.division.kind == "zone":
            units = _ZONE_UNITS
            department = rng.choice(units[:2]) if not industry.public else rng.choice(units[1:3])
        else:
            department = rng.choice(industry.units)
        d.responsible_unit = unit_prefix + department

        suffix = rng.choice(industry.owner_suffixes)
        if industry.public:
            company = suffix.endswith("有限公司")
            d.owner = unit_prefix + (suffix if company or d.division.kind != "zone" else department)
        else:
            place = "山东" if d.level is not None and rng.random() < 0.3 else profile.place
            d.owner = place + rng.choice(_BRANDS) + suffix
        if d.stage is Stage.PLANNING and rng.random() < 0.5:
            d.owner = None  # not yet known at the planning stage

        if d.level is None:
            d.leader = (
                rng.choice(roster["leaders"][2:])
                if d.stage is not Stage.PLANNING and rng.random() < 0.3
                else None
            )
        elif d.level is Level.COUNTY_KEY:
            d.leader = rng.choice(roster["leaders"])
        else:
            d.leader = rng.choice(self.city_leaders)
        if d.level is not None or (d.stage is not Stage.PLANNING and rng.random() < 0.4):
            d.service_officer = rng.choice(roster["officers"])

        d.tags = [tag for tag, chance in industry.tags if rng.random() < chance]
        lng0, lat0 = profile.centre
        lng = min(max(lng0 + rng.uniform(-1, 1) * profile.spread, 117.31), 118.29)
        lat = min(max(lat0 + rng.uniform(-1, 1) * profile.spread * 0.8, 36.81), 38.19)
        d.location = (_q(lng, "0.0001"), _q(lat, "0.0001"))

    # -- money
    def _settle_amounts(self, drafts: list[_Draft]) -> None:
        """Scale to exactly 7,844 亿元; round to tidy 万元; the largest project takes the rest."""
        factor = float(TOTAL_INVESTMENT) / sum(d.amount for d in drafts)
        for d in drafts:
            value = d.amount * factor
            step = 100 if value >= 100_000 else 10 if value >= 10_000 else 1
            d.total = Decimal(max(step, round(value / step) * step))
        largest = max(drafts, key=lambda d: d.total)
        largest.total += TOTAL_INVESTMENT - sum(d.total for d in drafts)

    def _plan(self, d: _Draft) -> DemoPlan:
        rng = self.rng
        if d.fate == "completing":
            share = rng.uniform(0.06, 0.18)
        elif d.stage is Stage.STARTED:
            share = rng.uniform(0.25, 0.5)
        else:
            share = rng.uniform(0.15, 0.45)
        annual = max(Decimal(10), _q(float(d.total) * share, "1"))
        first = 1
        start = d.moves[0][1] if d.moves and d.moves[0][0] is Stage.STARTED else None
        if d.stage is Stage.RESERVE and d.planned_start is not None:
            first = min(d.planned_start.month, start.month if start else 12)
        last = d.moves[-1][1].month if d.fate == "completing" else 12
        weights = [w if first <= m <= last else 0.0 for m, w in enumerate(_PLAN_WEIGHTS, start=1)]
        targets = dict(enumerate(_cumulative(annual, weights), start=1))
        targets[12] = annual
        for month in range(1, 12):
            targets[month] = min(targets[month], annual)
        return DemoPlan(YEAR, annual, targets)

    def _reports(self, d: _Draft, plan: DemoPlan) -> list[DemoReport]:
        rng = self.rng
        start = d.actual_start
        for stage, on in d.moves:
            if stage is Stage.STARTED:
                start = on
        first = 1 if start is None or start.year < YEAR else start.month
        completed = d.moves[-1][1] if d.fate == "completing" else None
        if start is None or start > AS_OF:
            ytd_april = Decimal(0)  # planned to start by April, still not started
        elif completed is not None:
            ytd_april = plan.annual_investment
        else:
            roll = rng.random()
            if roll < 0.22:
                rate = rng.uniform(0.34, 0.55)  # ahead of 序时进度
            elif roll < 0.40:
                rate = rng.uniform(0.24, 0.33)  # within 10 points
            elif roll < 0.85:
                rate = rng.uniform(0.04, 0.23)  # 10–30 points behind
            else:
                rate = rng.uniform(0.0, 0.03)  # more than 30 points behind
            if first > 1:
                rate *= 0.5 + 0.5 * (5 - first) / 4  # a late starter has had less time
            ytd_april = _q(float(plan.annual_investment) * rate, "1")
        active = [
            w if m >= first and start is not None and start <= AS_OF else 0.0
            for m, w in zip(REPORT_MONTHS, _REPORT_WEIGHTS, strict=True)
        ]
        if completed is not None:
            active = [
                w if m <= completed.month else 0.0
                for m, w in zip(REPORT_MONTHS, active, strict=True)
            ]
        reports: list[DemoReport] = []
        previous = Decimal(0)
        for month, ytd in zip(REPORT_MONTHS, _cumulative(ytd_april, active), strict=True):
            started = start is not None and (start.year, start.month) <= (YEAR, month)
            note = self._note(d, month, started, completed, ytd, plan)
            reports.append(DemoReport(f"{YEAR}-{month:02d}", ytd, ytd - previous, started, note))
            previous = ytd
        return reports

    def _note(
        self,
        d: _Draft,
        month: int,
        started: bool,
        completed: date | None,
        ytd: Decimal,
        plan: DemoPlan,
    ) -> str:
        rng = self.rng
        if completed is not None and month >= completed.month:
            return rng.choice(
                ("项目已竣工，正在组织竣工验收", "项目已建成投产，正在办理竣工验收备案")
            )
        if not started:
            assert d.planned_start is not None
            if d.planned_start.month > month:
                return rng.choice(
                    (
                        "前期手续办理中，正在进行施工图设计",
                        "正在办理用地预审和规划许可",
                        "施工招标准备中",
                    )
                )
            return rng.choice(
                (
                    "项目前期手续办理中，施工许可尚未取得",
                    "土地征收工作推进中，尚不具备开工条件",
                    f"受疫情影响设备招标延后，计划{min(month + 2, 12)}月开工",
                    "环评审批办理中，能耗指标待落实",
                    "规划设计方案调整中，开工时间推迟",
                )
            )
        if month == 2:
            return rng.choice(
                (
                    "受疫情影响暂停施工，正有序组织复工",
                    "已复工，现场施工人员逐步到岗",
                    "疫情防控条件下分批复工，施工人员到岗约五成",
                )
            )
        share = float(ytd) / float(plan.annual_investment) if plan.annual_investment else 0.0
        if share < 0.05:
            return rng.choice(("场地平整完成，正在进行桩基施工", "施工队伍进场，临建设施搭建中"))
        percent = rng.choice((30, 40, 50, 60, 70, 80))
        return rng.choice(
            (
                "主体厂房基础施工中",
                f"钢结构厂房主体施工，完成形象进度{percent}%",
                "设备基础施工，主要设备已签订采购合同",
                "主体完工，正在进行设备安装调试",
                f"管网铺设完成{percent}%",
                f"已全面复工，现场施工人员{rng.choice((80, 120, 150, 200, 300))}人",
            )
        )

    def _list_changes(self, drafts: list[_Draft]) -> None:
        """Two withdraw/add pairs on the county key list (the count of 433 is kept)."""
        rng = self.rng
        for division, effective in zip(
            self.divisions[2:4], (date(2020, 3, 31), date(2020, 4, 15)), strict=True
        ):
            leaving = [
                d
                for d in drafts
                if d.division is division
                and d.level is Level.COUNTY_KEY
                and d.fate == "new"
                and not d.moves
                and d.planned_start
                and d.planned_start.month >= 7
            ]
            joining = [
                d
                for d in drafts
                if d.division is division
                and d.level is None
                and d.stage is Stage.RESERVE
                and d.track is Track.IMPLEMENTATION
                and not d.moves
            ]
            if not leaving or not joining:  # pragma: no cover - the seed provides both
                continue
            out, into = rng.choice(leaving), rng.choice(joining)
            out.list_changes.append(
                DemoListChange(
                    ListChangeKind.WITHDRAWN,
                    None,
                    effective,
                    "项目单位调整投资计划，年内不具备开工条件，调出县重点项目清单",
                )
            )
            into.list_changes.append(
                DemoListChange(
                    ListChangeKind.ADDED,
                    Level.COUNTY_KEY,
                    effective,
                    "前期手续基本完备，具备年内开工条件，增补为县重点项目",
                )
            )

    # -- all of it
    def build(self) -> list[DemoProject]:
        drafts = [self._draft(division, level) for division, level in self._slots()]
        self._settle_amounts(drafts)
        self._list_changes(drafts)
        result: list[DemoProject] = []
        for d in drafts:
            plan: DemoPlan | None = None
            reports: list[DemoReport] = []
            keyed = d.level is not None and d.track is Track.IMPLEMENTATION
            if keyed or d.reports_wanted:
                plan = self._plan(d)
                if d.reports_wanted and self.rng.random() >= 0.08:  # some never reported
                    reports = self._reports(d, plan)
            project = ProjectCreate(
                name=d.name,
                county=d.division.code,
                level=d.level,
                track=d.track,
                stage=d.stage,
                code=d.code,
                total_investment=d.total,
                planned_start=d.planned_start,
                planned_completion=d.planned_completion,
                owner=d.owner,
                leader=d.leader,
                service_officer=d.service_officer,
                responsible_unit=d.responsible_unit,
                industry=d.industry.name,
                tags=d.tags,
                content=d.content,
                location={"lng": d.location[0], "lat": d.location[1]} if d.location else None,
                actual_start=d.actual_start,
                actual_completion=d.actual_completion,
            )
            result.append(DemoProject(project, plan, reports, list(d.moves), d.list_changes))
        return result


# ---------------------------------------------------------------- helpers


def _apportion(total: int, weights: list[float], minimum: int) -> list[int]:
    """Largest-remainder split of `total` by `weights`, each share at least `minimum`."""
    rest = total - minimum * len(weights)
    exact = [rest * w / sum(weights) for w in weights]
    shares = [int(x) for x in exact]
    order = sorted(range(len(weights)), key=lambda i: exact[i] - shares[i], reverse=True)
    for i in order[: rest - sum(shares)]:
        shares[i] += 1
    return [minimum + s for s in shares]


def _cumulative(amount: Decimal, weights: list[float]) -> list[Decimal]:
    """`amount` spread over periods by `weights`: the running total at the end of each period,
    in whole 万元 (all zero when every weight is)."""
    total_weight, running = sum(weights) or 1.0, 0.0
    totals: list[Decimal] = []
    for weight in weights:
        running += weight
        totals.append(_q(float(amount) * running / total_weight, "1"))
    return totals


def _between(rng: random.Random, first: date, last: date) -> date:
    return first + timedelta(days=rng.randint(0, max(0, (last - first).days)))


def _add_months(day: date, months: int) -> date:
    index = day.month - 1 + months
    return date(day.year + index // 12, index % 12 + 1, min(day.day, 28))


def _q(value: float, step: str) -> Decimal:
    return Decimal(repr(value)).quantize(Decimal(step), rounding=ROUND_HALF_UP)
