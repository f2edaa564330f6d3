"""The starting disclosure catalogue (公开目录) of each organisation type, as data.

Written for this product from the field reports: a village's 7 categories with about 60
items, and smaller catalogues for communities, township offices, departments and
enterprise party organisations. `catalogue.seed_catalogue` copies them into an install;
a township then adapts them (admin pages or the spreadsheet).

One row per item: 事项, 公开范围, 公开时限, 期限天数, 公开形式, 责任部门, 责任人.

- 公开范围: "党内", "社会", or a number — the days of the party-internal phase of an item
  disclosed first inside the party, then outside (先党内、后党外).
- 公开时限: "每月" / "每季度" / "每年" (定期), "随时", or a tuple of stage names (逐段).
- 期限天数: regular items, days after the period ends; staged, after the case opens; ad
  hoc, after the event.
- 公开形式: one character each — 屏 screen, 栏 printed board, 会 meeting, 文 document,
  网 website.
- 责任部门 "" means the township's party-building office (`seed_catalogue`'s
  `responsible_department`).
"""

from __future__ import annotations

from server.models import AreaKind

Row = tuple[str, str | int, str | tuple[str, ...], int, str, str, str]

MEMBER_DEVELOPMENT = ("确定入党积极分子", "确定发展对象", "接收预备党员", "预备党员转正")
FOUR_AND_TWO = ("党支部会提议", "两委会商议", "党员大会审议", "村民代表会议决议", "决议公开", "实施结果公开")
RECTIFICATION = ("反馈问题", "整改方案", "整改结果")
ELECTION = ("换届准备", "推荐候选人", "选举大会", "选举结果")

# Village bodies and the roles answering for an item (roles, never people's names).
V_PARTY, V_COMMITTEE, V_SUPERVISION, V_COLLECTIVE = "村党组织", "村民委员会", "村务监督委员会", "村集体经济组织"
SECRETARY, DIRECTOR, SUPERVISOR = "村党组织书记", "村委会主任", "村务监督委员会主任"
ORGANISER, PROPAGANDA, DISCIPLINE, BOOKKEEPER, CLERK = "组织委员", "宣传委员", "纪检委员", "报账员", "村文书"

VILLAGE: list[tuple[str, list[Row]]] = [
    ("民主决策", [
        ("“四议两公开”决策事项", "社会", FOUR_AND_TWO, 5, "屏栏会", V_PARTY, SECRETARY),
        ("村级重大事项决策结果", "社会", "随时", 5, "屏栏", V_COMMITTEE, DIRECTOR),
        ("村级年度工作计划", "社会", "每年", 30, "屏栏会", V_PARTY, SECRETARY),
        ("党员大会决议事项", "党内", "随时", 5, "屏会", V_PARTY, SECRETARY),
        ("村民代表会议决议", "社会", "随时", 5, "屏栏", V_COMMITTEE, DIRECTOR),
        ("村规民约修订", 7, ("征求意见", "党员大会审议", "村民会议表决", "公布施行"), 7, "屏栏会文", V_COMMITTEE, DIRECTOR),
        ("集体土地承包与流转", "社会", "随时", 7, "屏栏", V_COLLECTIVE, DIRECTOR),
        ("村级工程项目建设", "社会", ("项目立项", "招标投标", "施工进度", "竣工验收", "工程决算"), 5, "屏栏", V_COMMITTEE, DIRECTOR),
        ("村务监督委员会监督意见", "社会", "每季度", 10, "屏栏", V_SUPERVISION, SUPERVISOR),
    ]),
    ("思想建设", [
        ("“三会一课”开展情况", "党内", "每季度", 10, "屏会", V_PARTY, ORGANISER),
        ("主题党日活动安排", "社会", "每月", 5, "屏栏", V_PARTY, PROPAGANDA),
        ("党员学习教育计划", "党内", "每年", 30, "屏会文", V_PARTY, PROPAGANDA),
        ("党员冬春训情况", "党内", "每年", 15, "屏会", V_PARTY, ORGANISER),
        ("组织生活会和民主评议党员", 5, ("会前征求意见", "召开组织生活会", "民主评议结果", "整改措施"), 7, "屏会", V_PARTY, SECRETARY),
        ("党员志愿服务活动", "社会", "每季度", 10, "屏栏", V_PARTY, PROPAGANDA),
        ("新时代文明实践活动", "社会", "每月", 7, "屏栏网", V_PARTY, PROPAGANDA),
        ("先进典型与表彰", "社会", "随时", 5, "屏栏", V_PARTY, PROPAGANDA),
    ]),
    ("组织建设", [
        ("发展党员各阶段公示", 5, MEMBER_DEVELOPMENT, 5, "屏栏会", V_PARTY, ORGANISER),
        ("预备党员转正", 7, "随时", 5, "屏栏会", V_PARTY, ORGANISER),
        ("党组织换届选举", "社会", ELECTION, 5, "屏栏会", V_PARTY, SECRETARY),
        ("党组织班子成员及分工", "社会", "随时", 5, "屏栏", V_PARTY, SECRETARY),
        ("党员基本情况", "党内", "每年", 15, "屏会", V_PARTY, ORGANISER),
        ("党员组织关系转接", "党内", "随时", 10, "屏文", V_PARTY, ORGANISER),
        ("流动党员管理情况", "党内", "每季度", 10, "屏会", V_PARTY, ORGANISER),
        ("党员积分管理结果", "党内", "每季度", 10, "屏栏会", V_PARTY, ORGANISER),
        ("党组织书记抓党建述职评议", "社会", "每年", 15, "屏栏会", V_PARTY, SECRETARY),
        ("党员联系户名单", "社会", "每年", 15, "屏栏", V_PARTY, ORGANISER),
    ]),
    ("干部工作", [
        ("村干部任免与分工", "社会", "随时", 5, "屏栏", V_PARTY, SECRETARY),
        ("村“两委”干部候选人资格审查", "社会", ("资格条件公告", "人选推荐", "资格审查结果"), 5, "屏栏", V_PARTY, SECRETARY),
        ("村干部述职述廉与民主评议", "社会", "每年", 15, "屏栏会", V_PARTY, SECRETARY),
        ("村干部报酬与绩效考核", "社会", "每年", 15, "屏栏", V_COMMITTEE, BOOKKEEPER),
        ("村级后备干部人选", 5, "随时", 5, "屏栏", V_PARTY, ORGANISER),
        ("村干部坐班值班安排", "社会", "每月", 3, "屏栏", V_COMMITTEE, CLERK),
        ("驻村干部与网格员名单", "社会", "随时", 5, "屏栏", V_COMMITTEE, CLERK),
    ]),
    ("党风廉政", [
        ("村干部廉洁履职承诺", "社会", "每年", 15, "屏栏", V_PARTY, DISCIPLINE),
        ("党员处分决定", 7, "随时", 5, "屏会文", V_PARTY, DISCIPLINE),
        ("村级“小微权力”清单", "社会", "每年", 30, "屏栏网", V_COMMITTEE, DIRECTOR),
        ("村务监督委员会工作报告", "社会", "每年", 15, "屏栏会", V_SUPERVISION, SUPERVISOR),
        ("群众举报受理与处理结果", "社会", "每季度", 10, "屏栏", V_SUPERVISION, SUPERVISOR),
        ("巡察与审计反馈问题整改", "社会", RECTIFICATION, 10, "屏栏会", V_PARTY, SECRETARY),
        ("廉政教育活动", "党内", "每季度", 10, "屏会", V_PARTY, DISCIPLINE),
        ("村干部近亲属承揽村级工程报备", "社会", "随时", 5, "屏栏", V_SUPERVISION, SUPERVISOR),
    ]),
    ("服务群众", [
        ("惠民补贴与困难救助名单", "社会", "随时", 5, "屏栏", V_COMMITTEE, DIRECTOR),
        ("便民服务事项与办事指南", "社会", "每年", 15, "屏栏网", V_COMMITTEE, CLERK),
        ("低保与特困供养对象", "社会", ("申请公示", "民主评议结果", "审批结果"), 5, "屏栏", V_COMMITTEE, DIRECTOR),
        ("困难党员救济", "党内", "随时", 5, "屏会", V_PARTY, ORGANISER),
        ("党员设岗定责与承诺践诺", "社会", "每年", 15, "屏栏", V_PARTY, ORGANISER),
        ("为民办实事项目", "社会", ("项目征集", "项目确定", "实施进度", "办结结果"), 7, "屏栏会", V_PARTY, SECRETARY),
        ("农村宅基地审批", "社会", ("申请公示", "审核结果", "批准结果"), 5, "屏栏", V_COMMITTEE, DIRECTOR),
        ("农村危房改造对象", "社会", "随时", 5, "屏栏", V_COMMITTEE, DIRECTOR),
        ("医保与养老保险参保缴费情况", "社会", "每年", 15, "屏栏", V_COMMITTEE, CLERK),
        ("群众意见建议办理情况", "社会", "每月", 7, "屏栏", V_COMMITTEE, DIRECTOR),
    ]),
    ("财务与党费", [
        ("党费收缴情况", "社会", "每季度", 10, "屏栏会", V_PARTY, ORGANISER),
        ("党费使用情况", "党内", "每年", 15, "屏会", V_PARTY, ORGANISER),
        ("村级财务收支明细", "社会", "每月", 10, "屏栏", V_COMMITTEE, BOOKKEEPER),
        ("大额经费开支", "社会", "随时", 5, "屏栏", V_COMMITTEE, BOOKKEEPER),
        ("村集体资产资源管理", "社会", "每年", 30, "屏栏", V_COLLECTIVE, DIRECTOR),
        ("村级年度财务预决算", "社会", ("预算方案", "预算执行", "年度决算"), 15, "屏栏会", V_COMMITTEE, BOOKKEEPER),
        ("上级转移支付与专项资金使用", "社会", "每季度", 10, "屏栏", V_COMMITTEE, BOOKKEEPER),
        ("村集体经济收益分配", "社会", ("分配方案", "村民代表会议表决", "分配结果"), 7, "屏栏会", V_COLLECTIVE, DIRECTOR),
        ("村级债权债务情况", "社会", "每年", 30, "屏栏", V_COLLECTIVE, BOOKKEEPER),
        ("党组织工作经费使用", "社会", "每年", 15, "屏栏", V_PARTY, BOOKKEEPER),
    ]),
]

C_PARTY, C_COMMITTEE = "社区党组织", "社区居民委员会"
C_SECRETARY, C_DIRECTOR, C_BOOKKEEPER = "社区党组织书记", "社区居委会主任", "社区报账员"

COMMUNITY: list[tuple[str, list[Row]]] = [
    ("党的建设", [
        ("主题党日活动安排", "社会", "每月", 5, "屏栏", C_PARTY, PROPAGANDA),
        ("“三会一课”开展情况", "党内", "每季度", 10, "屏会", C_PARTY, ORGANISER),
        ("发展党员各阶段公示", 5, MEMBER_DEVELOPMENT, 5, "屏栏会", C_PARTY, ORGANISER),
        ("预备党员转正", 7, "随时", 5, "屏栏会", C_PARTY, ORGANISER),
        ("党员处分决定", 7, "随时", 5, "屏会文", C_PARTY, DISCIPLINE),
        ("在职党员到社区报到服务情况", "社会", "每季度", 10, "屏栏", C_PARTY, ORGANISER),
        ("党费收缴情况", "社会", "每季度", 10, "屏栏会", C_PARTY, ORGANISER),
    ]),
    ("社区治理", [
        ("社区“两委”成员及分工", "社会", "随时", 5, "屏栏", C_PARTY, C_SECRETARY),
        ("社区重大事项决策", "社会", ("党组织提议", "两委会商议", "党员大会审议", "居民代表会议决议", "结果公开"), 5, "屏栏会", C_PARTY, C_SECRETARY),
        ("居民公约", "社会", "随时", 7, "屏栏文", C_COMMITTEE, C_DIRECTOR),
        ("网格员与楼栋长名单", "社会", "随时", 5, "屏栏", C_COMMITTEE, C_DIRECTOR),
        ("物业服务与业主委员会工作", "社会", "每季度", 10, "屏栏", C_COMMITTEE, C_DIRECTOR),
    ]),
    ("服务群众", [
        ("便民服务事项与办事指南", "社会", "每年", 15, "屏栏网", C_COMMITTEE, C_DIRECTOR),
        ("低保与临时救助名单", "社会", "随时", 5, "屏栏", C_COMMITTEE, C_DIRECTOR),
        ("高龄津贴与养老服务", "社会", "每季度", 10, "屏栏", C_COMMITTEE, C_DIRECTOR),
        ("为民办实事项目", "社会", ("项目征集", "项目确定", "实施进度", "办结结果"), 7, "屏栏会", C_PARTY, C_SECRETARY),
        ("居民意见建议办理情况", "社会", "每月", 7, "屏栏", C_COMMITTEE, C_DIRECTOR),
    ]),
    ("财务公开", [
        ("社区经费收支情况", "社会", "每季度", 10, "屏栏", C_COMMITTEE, C_BOOKKEEPER),
        ("党组织服务群众经费使用", "社会", "每年", 15, "屏栏", C_PARTY, C_BOOKKEEPER),
        ("大额经费开支", "社会", "随时", 5, "屏栏", C_COMMITTEE, C_BOOKKEEPER),
    ]),
]

T_OFFICE, T_ORGANISATION, T_DISCIPLINE, T_FINANCE, T_SERVICE = "党政办", "组织办", "纪委", "财政所", "便民服务中心"

TOWNSHIP: list[tuple[str, list[Row]]] = [
    ("党委决策", [
        ("党委会议决定事项", "社会", "随时", 7, "屏栏网", T_OFFICE, "党政办主任"),
        ("“三重一大”事项决策", "社会", ("动议", "党委会议集体决策", "决策结果", "执行结果"), 7, "屏栏网", T_OFFICE, "党政办主任"),
        ("年度工作要点", "社会", "每年", 30, "屏栏网", T_OFFICE, "党政办主任"),
    ]),
    ("组织建设", [
        ("发展党员各阶段公示", 5, MEMBER_DEVELOPMENT, 5, "屏栏会", "", "组织委员"),
        ("基层党组织设置与换届", "社会", "随时", 7, "屏栏网", "", "组织委员"),
        ("党员教育培训计划", "党内", "每年", 30, "屏会文", "", "组织委员"),
        ("党组织书记抓党建述职评议", "社会", "每年", 15, "屏栏会", "", "党委书记"),
    ]),
    ("干部工作", [
        ("干部任免", "社会", "随时", 5, "屏栏网", T_ORGANISATION, "组织委员"),
        ("干部选拔任用", "社会", ("民主推荐", "确定考察对象", "任前公示", "任职"), 5, "屏栏网", T_ORGANISATION, "组织委员"),
        ("公务员与事业人员招录", "社会", "随时", 5, "屏栏网", T_ORGANISATION, "组织委员"),
        ("领导班子成员分工", "社会", "随时", 5, "屏栏网", T_OFFICE, "党政办主任"),
    ]),
    ("党风廉政", [
        ("党风廉政建设责任制落实情况", "社会", "每年", 15, "屏栏网", T_DISCIPLINE, "纪委书记"),
        ("廉洁从政规定与监督举报方式", "社会", "每年", 15, "屏栏网", T_DISCIPLINE, "纪委书记"),
        ("党员处分决定", 7, "随时", 5, "屏会文", T_DISCIPLINE, "纪委书记"),
        ("巡察反馈问题整改", "社会", RECTIFICATION, 10, "屏栏网", T_DISCIPLINE, "纪委书记"),
    ]),
    ("服务群众", [
        ("便民服务事项与办事指南", "社会", "每年", 15, "屏栏网", T_SERVICE, "便民服务中心主任"),
        ("惠民政策与补贴资金发放", "社会", "每季度", 10, "屏栏网", T_FINANCE, "财政所所长"),
        ("信访与群众诉求办理情况", "社会", "每月", 7, "屏栏", T_OFFICE, "党政办主任"),
    ]),
    ("财务与党费", [
        ("党费收缴情况", "党内", "每季度", 10, "屏会", "", "组织委员"),
        ("党费使用情况", "党内", "每年", 15, "屏会", "", "组织委员"),
        ("财政预算与决算", "社会", "每年", 30, "屏栏网", T_FINANCE, "财政所所长"),
        ("“三公”经费使用情况", "社会", "每年", 30, "屏栏网", T_FINANCE, "财政所所长"),
    ]),
]

D_BRANCH, D_OFFICE, D_ACCOUNTS = "机关党支部", "办公室", "财务室"

DEPARTMENT: list[tuple[str, list[Row]]] = [
    ("党的建设", [
        ("主题党日活动安排", "社会", "每月", 5, "屏栏", D_BRANCH, "党支部书记"),
        ("“三会一课”开展情况", "党内", "每季度", 10, "屏会", D_BRANCH, ORGANISER),
        ("发展党员各阶段公示", 5, MEMBER_DEVELOPMENT, 5, "屏栏会", D_BRANCH, ORGANISER),
        ("党员教育学习计划", "党内", "每年", 30, "屏会文", D_BRANCH, PROPAGANDA),
        ("党支部书记述职评议", "社会", "每年", 15, "屏栏会", D_BRANCH, "党支部书记"),
    ]),
    ("干部工作", [
        ("干部任免", "社会", "随时", 5, "屏栏网", D_OFFICE, "办公室主任"),
        ("年度考核结果", "党内", "每年", 15, "屏会", D_OFFICE, "办公室主任"),
    ]),
    ("党风廉政", [
        ("党风廉政建设责任清单", "社会", "每年", 15, "屏栏网", D_BRANCH, DISCIPLINE),
        ("党员处分决定", 7, "随时", 5, "屏会文", D_BRANCH, DISCIPLINE),
        ("作风建设问题整改", "社会", RECTIFICATION, 10, "屏栏网", D_BRANCH, "党支部书记"),
    ]),
    ("服务群众", [
        ("权责清单与办事指南", "社会", "每年", 30, "屏栏网", D_OFFICE, "办公室主任"),
        ("服务承诺与群众评议", "社会", "每季度", 10, "屏栏网", D_OFFICE, "办公室主任"),
        ("意见建议办理情况", "社会", "每月", 7, "屏栏", D_OFFICE, "办公室主任"),
    ]),
    ("财务与党费", [
        ("党费收缴情况", "党内", "每季度", 10, "屏会", D_BRANCH, ORGANISER),
        ("部门预算与决算", "社会", "每年", 30, "屏栏网", D_ACCOUNTS, "会计"),
        ("“三公”经费使用情况", "社会", "每年", 30, "屏栏网", D_ACCOUNTS, "会计"),
    ]),
]

E_BRANCH, E_UNION = "企业党组织", "企业工会"

ENTERPRISE: list[tuple[str, list[Row]]] = [
    ("党的建设", [
        ("主题党日活动安排", "社会", "每月", 5, "屏栏", E_BRANCH, "党组织书记"),
        ("“三会一课”开展情况", "党内", "每季度", 10, "屏会", E_BRANCH, ORGANISER),
        ("发展党员各阶段公示", 5, MEMBER_DEVELOPMENT, 5, "屏栏会", E_BRANCH, ORGANISER),
        ("党员先锋岗与示范岗", "社会", "每年", 15, "屏栏", E_BRANCH, ORGANISER),
        ("党组织换届选举", "社会", ELECTION, 5, "屏栏会", E_BRANCH, "党组织书记"),
    ]),
    ("企业治理与职工", [
        ("党组织参与重大问题决策", "党内", "随时", 7, "屏会", E_BRANCH, "党组织书记"),
        ("职工代表大会决议", "社会", "随时", 7, "屏栏会", E_UNION, "工会主席"),
        ("厂务公开事项", "社会", "每季度", 10, "屏栏", E_UNION, "工会主席"),
        ("困难职工帮扶", "社会", "随时", 5, "屏栏", E_UNION, "工会主席"),
    ]),
    ("党风廉政", [
        ("党员处分决定", 7, "随时", 5, "屏会文", E_BRANCH, DISCIPLINE),
        ("廉洁从业承诺", "社会", "每年", 15, "屏栏", E_BRANCH, DISCIPLINE),
    ]),
    ("财务与党费", [
        ("党费收缴情况", "党内", "每季度", 10, "屏会", E_BRANCH, ORGANISER),
        ("党组织工作经费使用", "社会", "每年", 15, "屏栏", E_BRANCH, "党组织书记"),
    ]),
]

STARTING_CATALOGUE: dict[AreaKind, list[tuple[str, list[Row]]]] = {
    AreaKind.village: VILLAGE,
    AreaKind.community: COMMUNITY,
    AreaKind.township: TOWNSHIP,
    AreaKind.department: DEPARTMENT,
    AreaKind.enterprise: ENTERPRISE,
}


def starting_titles(kind: AreaKind) -> list[str]:
    """The item titles of a kind's starting catalogue, in order."""
    return [row[0] for _name, rows in STARTING_CATALOGUE[kind] for row in rows]
