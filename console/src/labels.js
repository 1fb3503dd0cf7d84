// Chinese labels for what the APIs answer as codes.

export const ROLE_LABELS = {
  commander: '市指挥部', county: '县区', department: '部门', viewer: '只读',
};

export const EXPOSURE_KINDS = {
  unstarted: '未开工', lagging: '进度滞后', overdue: '问题超期',
};

export const COLOUR_LABELS = { red: '红色', yellow: '黄色', blue: '蓝色' };

/** What the map may be coloured by: the card's total or one of its figures. */
export const MAP_INDICATORS = [
  { key: 'score', label: '综合得分', better: 'high' },
  { key: 'schedule_rate', label: '序时进度完成率', unit: '%', better: 'high' },
  { key: 'start_rate', label: '开工率', unit: '%', better: 'high' },
  { key: 'investment_completion_rate', label: '投资完成率', unit: '%', better: 'high' },
  { key: 'ytd_investment', label: '累计完成投资（万元）', better: 'high' },
  { key: 'new_starts_ytd', label: '新开工项目', better: 'high' },
  { key: 'completions', label: '竣工项目', better: 'high' },
  { key: 'key_projects', label: '重点项目', better: 'high' },
  { key: 'resolution_rate', label: '问题办结率', unit: '%', better: 'high' },
  { key: 'on_time_rate', label: '按期办结率', unit: '%', better: 'high' },
  { key: 'problems_overdue', label: '超期问题', better: 'low' },
  { key: 'unstarted_projects', label: '未开工项目', better: 'low' },
  { key: 'lagging_projects', label: '滞后项目', better: 'low' },
  { key: 'factor_allocations', label: '要素配置（宗）', better: 'high' },
  { key: 'credit_granted', label: '授信（万元）', better: 'high' },
];

export const EVENT_LABELS = {
  'kuaiche.project.registered.v1': '项目入库',
  'kuaiche.project.updated.v1': '项目信息更新',
  'kuaiche.project.stage_changed.v1': '项目阶段变更',
  'kuaiche.project.list_changed.v1': '重点名单调整',
  'kuaiche.project.plan_set.v1': '年度计划下达',
  'kuaiche.project.report_submitted.v1': '月度调度上报',
  'kuaiche.project.milestone_updated.v1': '配档节点更新',
  'kuaiche.quota.issued.v1': '指标下达',
  'kuaiche.factor.allocated.v1': '要素配置',
  'kuaiche.factor.released.v1': '要素收回',
  'kuaiche.factor.used.v1': '要素使用',
  'kuaiche.replacement_source.registered.v1': '替代来源登记',
  'kuaiche.credit.demanded.v1': '融资需求',
  'kuaiche.credit.granted.v1': '银行授信',
  'kuaiche.credit.disbursed.v1': '贷款投放',
  'kuaiche.issue.reported.v1': '问题收集',
  'kuaiche.issue.assigned.v1': '问题交办',
  'kuaiche.issue.objected.v1': '交办异议',
  'kuaiche.issue.planned.v1': '方案报送',
  'kuaiche.issue.extended.v1': '办理延期',
  'kuaiche.issue.resolved.v1': '问题办结',
  'kuaiche.issue.accepted.v1': '办结确认',
  'kuaiche.issue.reopened.v1': '问题退回',
  'kuaiche.issue.closed.v1': '问题销号',
  'kuaiche.issue.overdue.v1': '红色督办（超期）',
  'kuaiche.calendar.schedule_set.v1': '工作日历更新',
  'kuaiche.ranking.published.v1': '考核通报发布',
};

export const STAGE_LABELS = {
  planning: '谋划', reserve: '储备', started: '开工', completed: '竣工', withdrawn: '退出',
};

export const STATUS_LABELS = {
  reported: '收集', assigned: '交办', planned: '方案', resolved: '办结', closed: '销号',
};

export const ACTION_LABELS = {
  report: '收集', assign: '交办', object: '异议', plan: '报送方案', extend: '延期',
  resolve: '办结', feedback: '反馈', accept: '确认', reject: '退回', reopen: '退回',
  close: '销号', overdue: '超期',
};

export const FACTOR_LABELS = {
  land: '用地', energy: '能耗', pollutant: '污染物', water: '水资源', funds: '资金',
};

export const POLLUTANT_LABELS = {
  SO2: '二氧化硫', NOx: '氮氧化物', particulates: '颗粒物', VOCs: 'VOCs', COD: 'COD', NH3N: '氨氮',
};
