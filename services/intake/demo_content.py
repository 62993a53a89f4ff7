"""Deterministic demo content for Minqing: Maxian (马限社区) and Luoxing (罗星社区), Mawei district.

Pure functions returning plain dicts for the demo loader: no I/O, no database. Every function seeds its
own ``random.Random`` with a fixed string, so repeated calls give identical output. ``cases()`` depends
on ``now`` only through ``registered_at``: day offsets and times of day come from the fixed seed and are
laid back from ``now`` (a weekend date may move one day to the nearest weekday, so more cases fall on
weekdays). Figures follow the pilot report: 9 grids, 60 buildings, 4,257 households, 12 resident
units and 692 cases for Maxian.
"""

from __future__ import annotations

import datetime
import random
from dataclasses import dataclass

CHANNELS = ("online", "hotline", "mailbox", "deputies_studio", "home_visit", "forum")
_CHANNEL_WEIGHTS = (30, 25, 10, 9, 18, 8)

CATEGORIES: dict[str, str] = {
    "elevator": "电梯",
    "water_supply": "供水",
    "drainage": "排水",
    "sanitation": "环境卫生",
    "parking": "停车",
    "noise": "噪音",
    "property_management": "物业管理",
    "greening": "绿化",
    "security": "治安",
    "elderly_care": "养老服务",
    "childcare": "四点半课堂/托管",
    "road": "道路设施",
    "pets": "宠物",
    "policy": "政策咨询",
}
# Background mix of ordinary cases; childcare only comes from the hot-issue cluster below.
_CATEGORY_WEIGHTS = {
    "elevator": 9,
    "water_supply": 8,
    "drainage": 8,
    "sanitation": 13,
    "parking": 11,
    "noise": 9,
    "property_management": 8,
    "greening": 6,
    "security": 8,
    "elderly_care": 7,
    "road": 7,
    "pets": 6,
    "policy": 9,
}

_DISTRICT = {"code": "mawei", "name": "马尾区"}


@dataclass(frozen=True)
class _Estate:
    name: str
    road: str
    number: int  # street number of the estate gate
    count: int  # buildings
    floors: tuple[int, int]
    units: tuple[int, int]
    rooms: tuple[int, int]  # flats per landing in each unit


@dataclass(frozen=True)
class _Community:
    code: str
    name: str
    prefix: str
    grids: int
    households: int
    cases: int
    estates: tuple[_Estate, ...]
    places: tuple[str, ...]
    units: tuple[tuple[str, str], ...]
    hotspots: tuple[tuple[str, int, str, int], ...]  # (estate, building no., category, cases)
    no_property: tuple[tuple[str, int], ...]  # (estate without property management, cases)
    childcare: int


_COMMUNITIES = {
    "maxian": _Community(
        "maxian",
        "马限社区",
        "MX",
        9,
        4257,
        692,
        (
            _Estate("马限山小区", "昭忠路", 12, 18, (6, 7), (3, 5), (2, 2)),
            _Estate("江滨花园", "江滨东大道", 88, 14, (11, 18), (2, 3), (3, 4)),
            _Estate("船政新村", "沿山西路", 16, 12, (5, 7), (2, 4), (2, 2)),
            _Estate("昭忠新村", "昭忠路", 45, 10, (6, 8), (3, 4), (2, 2)),
            _Estate("马江花园", "罗星东路", 101, 6, (18, 26), (2, 2), (4, 4)),
        ),
        (
            "马限山公园入口",
            "社区广场",
            "昭忠路菜市场",
            "社区服务中心门口",
            "江滨东大道沿线",
            "船政文化景区周边",
            "马限山登山步道",
        ),
        (
            ("马尾区医院", "hospital"),
            ("共青团马尾区委", "league"),
            ("马尾区妇联", "womens_federation"),
            ("马尾区教育局", "bureau"),
            ("马尾区城市管理局", "bureau"),
            ("马尾区第一中心小学", "school"),
            ("中国工商银行福州马尾支行", "enterprise"),
            ("福州市公安局马尾分局罗星派出所", "police"),
            ("福州江滨物业服务有限公司", "property"),
            ("福建省马尾造船股份有限公司", "enterprise"),
            ("罗星街道社区卫生服务中心", "hospital"),
            ("国网福州市马尾区供电公司", "enterprise"),
        ),
        (
            ("江滨花园", 3, "elevator", 10),
            ("马江花园", 2, "elevator", 8),
            ("船政新村", 5, "drainage", 8),
            ("马限山小区", 11, "drainage", 6),
        ),
        (("船政新村", 12),),
        25,
    ),
    "luoxing": _Community(
        "luoxing",
        "罗星社区",
        "LX",
        3,
        600,
        80,
        (
            _Estate("罗星花园", "罗星东路", 66, 7, (9, 12), (2, 3), (2, 3)),
            _Estate("罗星新村", "罗星西路", 23, 5, (6, 7), (3, 4), (2, 2)),
        ),
        ("罗星塔公园", "罗星路菜市场", "社区活动中心", "罗星东路沿线"),
        (("马尾区民政局", "bureau"), ("马尾区第二中心小学", "school"), ("中国建设银行福州马尾支行", "enterprise")),
        (("罗星花园", 2, "elevator", 4), ("罗星新村", 3, "drainage", 3)),
        (),
        3,
    ),
}

_SURNAMES = "陈林黄张李王吴刘郑杨许何郭周叶谢游魏江罗潘曾朱翁高方卓薛池"
_SURNAME_WEIGHTS = (16, 14, 9, 6, 6, 6, 5, 5, 5, 4, 3, 3, 3, 3, 3, 3, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 1, 1, 1)
_GIVEN = (
    "建国明华伟强志文斌勇军海峰荣福德平辉杰龙俊鑫宇涛清金水宗耀忠晨浩",
    "秀英兰芳丽玉梅珍燕娟婷霞琴萍凤雪静慧敏月桂莲琳佳欣颖",
)
_MOBILE = (
    "130 131 132 133 135 136 137 138 139 150 151 152 153 155 156 157 158 159 166 173 177 "
    "180 181 182 183 185 186 187 188 189 191 199"
).split()
_TAGS = (("party_member", 0.08), ("disabled", 0.03), ("low_income", 0.03), ("minor_caretaker", 0.025))
_NUMERALS = "一二三四五六七八九十"

# Title/description pairs per text group. Slots: b building (a title may get the short "3号楼"), estate,
# road, place, u unit, f floor, top storeys, n small number, s surname. Pairs without building slots
# also serve community-wide cases (building None).
_TEXT: dict[str, tuple[tuple[str, str], ...]] = {
    "elevator": (
        ("{b}电梯故障，老人无法下楼", "我家住{b}{u}单元{f}楼，电梯这{n}天一直停着，家里老人腿脚不好，上下楼要人背。"),
        ("{b}{u}单元电梯频繁停运", "{b}{u}单元的电梯一个月停了好几次，每次修好没两天又坏，住高层的老人孩子出门都难。"),
        (
            "{b}电梯运行时异响明显",
            "{b}的电梯最近运行时咯噔咯噔响，轿厢还会晃，大家都不敢坐，物业说报修了但一直没人来。",
        ),
        (
            "{b}电梯困人，希望彻底检修",
            "上周{b}{u}单元电梯卡在{f}楼，困了一位老人和一个小孩，等了快半小时才有人来开门。",
        ),
        ("{b}电梯按键失灵多日未修", "{b}电梯里好几个楼层按键坏了，按了没反应，只能坐到顶楼再走下来。"),
        ("{b}电梯年检标志过期", "{b}的电梯用了快二十年，经常出毛病，轿厢里贴的年检标志也过期了，住户担心安全。"),
        (
            "{b}电梯停运{n}天无人处理",
            "{b}电梯从上周起就贴了停运通知，到现在{n}天了还没修好，{top}层楼每天爬上爬下实在吃不消。",
        ),
    ),
    "elevator_retrofit": (
        ("{b}老人盼望加装电梯", "我家住{b}{f}楼，楼里没有电梯，老伴膝盖不好，每次去医院都要邻居帮忙扶下楼。"),
        (
            "{b}加装电梯意见不统一",
            "{b}一共{top}层，高层住户想加装电梯，低楼层住户担心挡光和噪音不同意，希望社区出面协调。",
        ),
        (
            "{estate}老旧楼栋申请加装电梯",
            "{estate}都是{top}层左右的老楼，没有电梯，住户年纪越来越大，想问怎么申请加装。",
        ),
        (
            "咨询老旧小区加装电梯补贴政策",
            "社区里很多楼都是六七层的老房子，没有电梯，想了解加装电梯有没有补贴、要多少户同意。",
        ),
    ),
    "water_supply": (
        ("{b}停水未提前通知", "{b}昨天早上突然停水，事先没有任何通知，家里老人做饭洗漱都成了问题。"),
        ("{b}自来水发黄有异味", "最近{b}自来水放出来有点发黄，烧开后有股铁锈味，家里都不敢直接喝了。"),
        ("{b}高层水压不足，{f}楼常没水", "我住{b}{f}楼，每天早晚用水高峰水压很小，热水器都打不着火。"),
        ("{b}{u}单元楼道水管漏水", "{b}{u}单元楼道里的水管裂了，水一直往下渗，楼下几户的墙面都湿了。"),
        ("{estate}二次供水水箱多年未清洗", "听说{estate}楼顶的水箱好几年没洗过了，夏天接的水里还能看到小虫子。"),
        ("{place}附近突然停水", "{place}一带今天上午停水，打自来水公司电话一直占线，不知道什么时候能恢复。"),
    ),
    "drainage": (
        ("{b}化粪池堵塞污水外溢", "{b}楼下的化粪池又堵了，污水漫到路上，味道很大，这已经不是第一次了。"),
        ("{estate}地下室积水严重", "每次下大雨{estate}地下室就积水，停在下面的电动车都被泡坏了好几辆。"),
        ("{b}一楼住户家中污水倒灌", "我家住{b}一楼，卫生间下水经常往上冒，楼上一冲水我家就倒灌。"),
        ("{b}楼前雨水井堵塞，雨天积水", "{b}门口的雨水井被落叶和垃圾堵住了，雨一大楼前就是一片汪洋，只能蹚水进出。"),
        ("{b}{u}单元下水道反味", "{b}{u}单元楼道里一股下水道的臭味，夏天尤其严重，家里门窗都不敢开。"),
        ("{estate}雨污管网老化需改造", "{estate}的下水管道还是建楼时铺的，疏通了没多久又堵，应该从根上改造。"),
        ("{place}路面积水严重", "台风天过后{place}积水到小腿深，老人孩子都过不去，排水口也被杂物堵着。"),
    ),
    "sanitation": (
        ("{b}楼道堆放杂物影响通行", "{b}{u}单元楼道里堆满了旧家具和纸箱，晚上看不清容易绊倒，也有消防隐患。"),
        ("{b}垃圾桶满溢无人清运", "{b}楼下的垃圾桶天天满出来，清运车来得不及时，夏天臭得窗户都不敢开。"),
        ("{estate}垃圾分类点异味大", "{estate}的垃圾分类投放点离{b}太近，味道很大，还招苍蝇老鼠。"),
        ("{b}楼下建筑垃圾多日未清", "{b}有住户装修，建筑垃圾在楼下堆了{n}个星期了，一直没人来拉走。"),
        ("{b}{u}单元楼道小广告泛滥", "{b}楼道墙上贴满了开锁、通下水道的小广告，刚清完第二天又贴上了。"),
        ("{b}楼顶有人私自养鸡", "{b}楼顶有住户围了个鸡笼养鸡，天一亮就叫，鸡粪味道顺着楼道往下飘。"),
        (
            "{place}卫生死角蚊蝇滋生",
            "{place}旁边那块空地成了卫生死角，垃圾袋、泡沫箱扔得到处都是，没人清理，蚊子苍蝇特别多。",
        ),
    ),
    "parking": (
        ("{b}楼下乱停车堵塞消防通道", "{b}楼下每天晚上都停满了车，消防通道被堵死，万一出事消防车根本进不来。"),
        ("建议{estate}增设电动车充电桩", "{estate}没有充电桩，很多人从{b}楼上拉电线给电动车充电，太危险了。"),
        ("{b}电动车楼道充电有隐患", "{b}{u}单元有好几户把电动车推进楼道充电，晚上插着不拔，大家都很担心起火。"),
        ("{b}门口僵尸车长期占位", "{b}门口有一辆车停了快半年没动过，轮胎都瘪了，车身全是灰，一直占着位置。"),
        (
            "{estate}车位不足，晚上找不到车位",
            "下班回来在{estate}里转好几圈都找不到车位，只能停到{road}上，经常被贴罚单。",
        ),
        ("外来车辆随意进出{estate}", "{estate}大门没人管，外面的车随便开进来停，小区住户自己反而没地方停。"),
        ("建议增设电动车集中充电点", "现在骑电动车的人越来越多，社区里充电的地方太少，不少人只能在家里或楼道里充。"),
    ),
    "noise": (
        ("{b}楼上住户深夜噪音扰民", "{b}楼上那户晚上十一二点还在拖椅子、蹦跳，家里老人睡不着，上去沟通过也没用。"),
        ("{b}附近广场舞音响太吵", "{b}旁边空地每天晚上跳广场舞，音响开得很大，孩子在家写作业都受影响。"),
        ("{b}{u}单元装修周末也施工", "{b}{u}单元有户在装修，周末早上七点多就开始电钻，按规定周末应该不能施工。"),
        ("{road}夜间施工噪音扰民", "{road}那边的工地晚上十点以后还在作业，机器声音很大，附近几栋楼都睡不好。"),
        ("{b}楼下夜宵摊吵到凌晨", "{b}楼下开了家夜宵店，客人喝酒划拳到凌晨一两点，还把桌子摆到路上。"),
        ("{b}空调外机噪音大", "{b}{u}单元对面那户的空调外机正对我家卧室，晚上嗡嗡响，还滴水在我家雨棚上。"),
        ("{place}广场舞音响扰民", "{place}晚上跳广场舞的音响声音太大，一直到九点半还不停，周边住户意见很大。"),
    ),
    "property_management": (
        ("{b}物业服务差，报修没人管", "{b}楼道灯坏了报修了{n}次，物业每次都说马上来，到现在还是黑的。"),
        ("{estate}物业费上涨不合理", "{estate}的物业费今年说要涨，可服务一点没变好，报修要等好几天才有人来。"),
        ("{b}物业保安形同虚设", "{b}的保安经常不在岗，外卖快递随便进，上个月楼里还有电动车被偷。"),
        ("{estate}物业公共收益不公开", "想问问{estate}停车费和电梯广告这些公共收益都去哪了，业主从来没见过账目。"),
        ("对{estate}物业公司服务不满意", "{estate}物业合同快到期了，很多业主对这家公司不满意，想了解怎么换物业。"),
        ("咨询业主委员会成立程序", "想了解成立业主委员会需要什么条件、要多少业主同意，社区能不能帮忙指导。"),
    ),
    "property_none": (
        ("{estate}无物业管理，环境脏乱", "{estate}原来的物业撤走后一直没人管，楼道灯坏了、垃圾堆着都没人处理。"),
        (
            "建议{estate}引进专业物业管理",
            "我们{estate}是老小区，没有物业，邻居们凑钱雇人扫地也坚持不下去，希望社区牵头引进专业物业。",
        ),
        (
            "{estate}老旧小区能否引入物业",
            "住{b}十几年了，{estate}一直没有物业，大部分邻居愿意交物业费，就是不知道该找谁。",
        ),
        (
            "{estate}没人管，外人随意进出",
            "{estate}大门没人看，外来人员和车辆随便进出，晚上很不安全，{b}前几天还有人家被盗。",
        ),
        ("咨询{estate}选聘物业的程序", "邻居们商量过想请物业公司，但不知道怎么选、要走什么程序、要多少户签字同意。"),
        ("{b}公共设施坏了无人维修", "{estate}没有物业，{b}的单元门、楼道灯坏了都没人修，只能住户自己掏钱。"),
    ),
    "greening": (
        ("{b}旁大树遮挡采光", "{b}前面的香樟树长得比楼还高，低楼层白天都要开灯，衣服也晒不干。"),
        ("{b}楼下绿地被改种菜", "{b}楼下的公共绿地被几户人家开垦种菜，还浇粪水，味道很重。"),
        ("{b}前枯树有倒伏危险", "{b}前面那棵树已经枯死了，台风季节快到了，担心倒下来砸到人和车。"),
        ("{estate}绿化带杂草丛生", "{estate}的绿化带很久没人打理，杂草长到半人高，还有人往里扔垃圾，夏天蚊虫特别多。"),
        ("{estate}树木长期未修剪", "{estate}的树枝都伸到{b}{f}楼窗户边了，晚上风一吹刮得玻璃响，还招虫子。"),
        ("建议在{place}增加绿化", "{place}光秃秃的，夏天太晒，老人没地方乘凉，建议种些树、放几张座椅。"),
    ),
    "security": (
        ("{b}楼道感应灯损坏", "{b}{u}单元楼道的感应灯坏了好久，晚上下班回来黑漆漆的，老人上下楼容易摔跤。"),
        ("{estate}电动车被盗多起", "{estate}这个月已经丢了好几辆电动车，我的车锁在{b}楼下也被撬走了。"),
        ("{b}单元门门禁损坏", "{b}{u}单元的门禁坏了，门一直开着，谁都能进来，晚上睡觉都不踏实。"),
        ("{estate}监控探头坏了没人修", "{estate}门口的监控坏了好几个月，前阵子有邻居的车被刮，想调录像都调不出来。"),
        ("{b}有陌生人上门推销", "最近经常有陌生人到{b}挨家挨户敲门推销保健品，专门找独居老人。"),
        ("{place}夜间照明差存在隐患", "{place}一带晚上路灯很暗，最近有人反映被尾随，希望晚上多安排巡逻。"),
    ),
    "elderly_care": (
        ("{b}独居老人需要定期探访", "我是{b}的住户，隔壁{s}奶奶一个人住，子女在外地，前几天摔了一跤半天才被发现。"),
        ("{b}高龄老人想申请助餐服务", "我父亲今年八十多了，住在{b}{f}楼，做饭越来越吃力，想问社区有没有助餐服务。"),
        ("{b}老人申请上门助浴服务", "我母亲中风后行动不便，住{b}，想申请上门助浴和康复护理，不知道怎么办理。"),
        ("{b}独居老人申请紧急呼叫器", "{b}的{s}伯一个人住，有高血压，家里人想给他装个紧急呼叫器，听说社区可以申请。"),
        ("希望社区开办老年食堂", "社区里老人很多，不少是一个人住，买菜做饭都不方便，希望能办个老年食堂。"),
        ("建议增加老年人活动场所", "社区里老人白天没什么地方去，希望有个活动室可以下下棋、打打牌、看看报纸。"),
    ),
    "childcare": (
        ("放学后孩子无人看管", "我和爱人都在开发区上班，六点多才下班，孩子四点半放学后没人接，只能一个人在家。"),
        (
            "希望社区开办四点半课堂",
            "能不能利用社区活动室办个四点半课堂，请老师或志愿者帮孩子辅导作业，费用我们可以分担。",
        ),
        ("双职工家庭孩子放学没人接", "{b}好几户都是双职工，孩子放学后在楼下乱跑，离马路很近，家长很担心安全。"),
        ("{b}孩子放学后无处写作业", "孩子放学后在{b}楼下等大人下班，一等就是两个小时，天冷了很可怜。"),
        ("咨询四点半课堂报名方式", "听说有的社区办了四点半课堂，想问问我们这里什么时候能开、怎么报名。"),
        (
            "{estate}孩子放学在路边玩很危险",
            "{estate}门口就是{road}，放学后没大人管的孩子在路边追着玩，车来车往太危险了。",
        ),
        (
            "建议利用社区活动室办托管班",
            "社区活动室下午基本空着，双职工家长希望能办个托管班，孩子有个安全的地方等家长。",
        ),
        (
            "假期孩子没人带，希望社区托管",
            "放假后孩子整天一个人在家看电视、玩手机，老人又不在身边，希望社区能办个假期托管。",
        ),
    ),
    "road": (
        ("{b}门口路面坑洼不平", "{b}门口那段路坑坑洼洼，下雨天全是积水，老人走路差点摔倒。"),
        ("{road}人行道砖松动", "{road}人行道上好多地砖松了，一踩就溅一身泥水，推婴儿车都推不动。"),
        ("{b}楼前路灯不亮", "{b}楼前的路灯坏了{n}个星期，晚上黑乎乎的，老人都不敢下楼散步。"),
        ("{estate}入口缺少减速带", "{estate}入口车开得很快，旁边就是孩子上学放学走的路，建议装个减速带。"),
        ("{road}井盖缺失存在隐患", "{road}上有个井盖不见了，只用个塑料桶挡着，晚上路灯又暗，骑车经过很危险。"),
        ("{estate}无障碍坡道被占用", "{b}门口的无障碍坡道被电动车占了，坐轮椅的邻居根本出不了门。"),
    ),
    "pets": (
        ("{b}有人遛狗不牵绳", "{b}有户人家遛狗从来不牵绳，狗冲着小孩跑，上次把我家孩子吓哭了。"),
        ("{b}楼道狗粪无人清理", "{b}{u}单元楼道里经常有狗粪，主人也不清理，大家进出都得踮着脚。"),
        ("{b}住户养狗深夜狂吠", "{b}有户人家的狗白天主人上班就一直叫，晚上也叫，邻居都受不了。"),
        ("{estate}流浪猫数量增多", "{estate}的流浪猫越来越多，晚上叫得睡不着，还把垃圾袋翻得到处都是。"),
        ("{b}有住户饲养大型犬", "{b}有住户养了条大狼狗，进出电梯也不戴嘴套，老人孩子看见都害怕。"),
        ("建议社区规范文明养犬", "现在小区里养狗的越来越多，不牵绳、不捡粪很普遍，希望社区组织宣传文明养犬。"),
    ),
    "policy": (
        ("咨询高龄津贴申领条件", "我母亲今年满八十岁了，听说可以领高龄津贴，想问要带什么材料、到哪里办。"),
        ("咨询城乡居民医保缴费", "想了解今年城乡居民医保什么时候开始缴费，能不能在手机上交，老人不会操作怎么办。"),
        ("咨询{estate}是否列入旧改", "听说马尾今年有一批老旧小区要改造，想问{estate}有没有列进去，会改哪些内容。"),
        ("咨询新生儿落户手续", "我家孩子刚出生，想问户口怎么上，需要准备哪些证件，能不能在社区办。"),
        ("咨询低保和临时救助条件", "我失业在家，家里就我一个劳动力，想了解一下低保和临时救助的申请条件。"),
        ("咨询残疾人两项补贴办理", "我弟弟是二级肢体残疾，住{b}，想问残疾人生活补贴和护理补贴怎么申请。"),
        ("咨询灵活就业社保补贴", "我在开发区打零工，没有单位交社保，听说灵活就业人员有社保补贴，想问怎么申请。"),
    ),
}
_ASKS = (
    "希望社区帮忙协调解决。",
    "麻烦社区帮忙跟进一下，谢谢！",
    "希望尽快给个答复。",
    "希望有关部门重视一下。",
    "请社区督促相关单位尽快处理。",
    "希望能给个处理的时间表。",
    "这个问题反映过好几次了，希望这次能解决。",
)
_PREFIXES = {
    "online": ("", "", "网上留言："),
    "hotline": ("来电反映：", "居民来电："),
    "mailbox": ("", "信箱来信："),
    "deputies_studio": ("在两代表一委员工作室接待日反映：", "向驻站人大代表反映："),
    "home_visit": ("网格员入户走访时住户反映：", "走访中居民反映："),
    "forum": ("居民座谈会上提出：", "在楼栋座谈会上反映："),
}
# Registration windows per channel, minutes after midnight (start, end, weight); all within 7:30-21:30.
_WINDOWS = {
    "online": ((450, 720, 3), (720, 1080, 3), (1080, 1290, 4)),
    "hotline": ((480, 720, 5), (840, 1080, 5), (1080, 1260, 1)),
    "mailbox": ((540, 600, 1),),
    "deputies_studio": ((540, 690, 1), (870, 1020, 1)),
    "home_visit": ((540, 690, 3), (900, 1050, 3), (1140, 1260, 2)),
    "forum": ((570, 660, 1), (1170, 1260, 1)),
}
_ANONYMOUS = {"online": 0.2, "hotline": 0.15, "mailbox": 0.5}
_BUILDING_SLOTS = ("{b", "{u}", "{f}", "{top}", "{estate}")


def _cfg(community: str) -> _Community:
    try:
        return _COMMUNITIES[community]
    except KeyError:
        raise ValueError(f"unknown demo community: {community!r}") from None


def _name(rng: random.Random) -> str:
    pool = rng.choice(_GIVEN)
    given = "".join(rng.sample(pool, 1 if rng.random() < 0.25 else 2))
    return rng.choices(_SURNAMES, _SURNAME_WEIGHTS)[0] + given


def _phone(rng: random.Random, seen: set[str]) -> str:
    while True:
        phone = rng.choice(_MOBILE) + f"{rng.randrange(10**8):08d}"
        if phone not in seen:
            seen.add(phone)
            return phone


def district() -> dict:
    return dict(_DISTRICT)


def communities() -> list[dict]:
    return [
        {"code": c.code, "name": c.name, "district": _DISTRICT["code"], "ref_prefix": c.prefix}
        for c in _COMMUNITIES.values()
    ]


def grids(community: str) -> list[dict]:
    cfg = _cfg(community)
    rng = random.Random(f"minqing-demo-grids-{community}")
    return [
        {
            "code": f"{community}-g{i + 1:02d}",
            "name": f"第{_NUMERALS[i]}网格",
            "community": community,
            "leader_name": _name(rng),
        }
        for i in range(cfg.grids)
    ]


def _building_specs(community: str) -> list[dict]:
    """Buildings with the internal flats-per-landing figure used to size households."""
    cfg = _cfg(community)
    rng = random.Random(f"minqing-demo-buildings-{community}")
    total = sum(e.count for e in cfg.estates)
    base, extra = divmod(total, cfg.grids)
    grid_of = [g for g in range(cfg.grids) for _ in range(base + (g < extra))]
    out, i = [], 0
    for e in cfg.estates:
        for k in range(1, e.count + 1):
            floors, units = rng.randint(*e.floors), rng.randint(*e.units)
            out.append(
                {
                    "code": f"{community}-b{i + 1:02d}",
                    "name": f"{e.name}{k}号楼",
                    "grid": f"{community}-g{grid_of[i] + 1:02d}",
                    "community": community,
                    "address": f"福州市马尾区{e.road}{e.number}号{e.name}{k}号楼",
                    "floors": floors,
                    "units": units,
                    "_rooms": rng.randint(*e.rooms),
                    "_estate": e,
                    "_no": k,
                }
            )
            i += 1
    return out


def buildings(community: str) -> list[dict]:
    return [{k: v for k, v in b.items() if not k.startswith("_")} for b in _building_specs(community)]


def households(community: str) -> list[dict]:
    cfg = _cfg(community)
    rng = random.Random(f"minqing-demo-households-{community}")
    specs = _building_specs(community)
    caps = [b["floors"] * b["units"] * b["_rooms"] for b in specs]
    # Largest-remainder apportionment of the household total, proportional to each building's capacity.
    quotas = [cfg.households * c / sum(caps) for c in caps]
    alloc = [int(q) for q in quotas]
    for i in sorted(range(len(caps)), key=lambda i: alloc[i] - quotas[i])[: cfg.households - sum(alloc)]:
        alloc[i] += 1
    seen: set[str] = set()
    out = []
    for b, n in zip(specs, alloc, strict=True):
        slots = [
            (u, f, r)
            for u in range(1, b["units"] + 1)
            for f in range(1, b["floors"] + 1)
            for r in range(1, b["_rooms"] + 1)
        ]
        for u, f, r in sorted(rng.sample(slots, n)):
            tags = []
            if rng.random() < 0.06:
                tags.append("elderly_alone")
            tags += [t for t, p in _TAGS if rng.random() < p]
            size = 1 if "elderly_alone" in tags else rng.choices(range(1, 7), (16, 30, 26, 17, 8, 3))[0]
            if "minor_caretaker" in tags:
                size = max(size, 2)
            out.append(
                {
                    "code": f"{b['code']}-{u}-{f:02d}{r:02d}",
                    "building": b["code"],
                    "unit": str(u),
                    "room": f"{f:02d}{r:02d}",
                    "head_name": _name(rng),
                    "phone": _phone(rng, seen),
                    "size": size,
                    "tags": tags,
                }
            )
    return out


def resident_units(community: str) -> list[dict]:
    cfg = _cfg(community)
    rng = random.Random(f"minqing-demo-units-{community}")
    seen: set[str] = set()
    return [
        {
            "code": f"{community}-u{i + 1:02d}",
            "name": name,
            "kind": kind,
            "party_org": f"{name}党支部",
            "contact_name": _name(rng),
            "contact_phone": _phone(rng, seen),
        }
        for i, (name, kind) in enumerate(cfg.units)
    ]


def _text_group(category: str, b: dict | None, cfg: _Community) -> str:
    if category == "elevator" and (b is None or b["floors"] < 9):
        return "elevator_retrofit"
    no_property = {name for name, _ in cfg.no_property}
    if category == "property_management" and b is not None and b["_estate"].name in no_property:
        return "property_none"
    return category


def cases(community: str, now: datetime.datetime) -> list[dict]:
    cfg = _cfg(community)
    rng = random.Random(f"minqing-demo-cases-{community}")
    specs = _building_specs(community)
    by_estate_no = {(b["_estate"].name, b["_no"]): b for b in specs}
    residents: dict[str | None, list[dict]] = {None: []}
    for h in households(community):
        residents.setdefault(h["building"], []).append(h)
        residents[None].append(h)

    plan: list[tuple[int, str, dict | None]] = []  # (day offset, category, building)
    for estate, no, category, count in cfg.hotspots:  # recurring complaints about specific buildings
        plan += [(rng.randint(1, 364), category, by_estate_no[(estate, no)]) for _ in range(count)]
    for estate, count in cfg.no_property:  # an estate with no property management: visits, polls, a vote
        in_estate = [b for b in specs if b["_estate"].name == estate]
        plan += [(rng.randint(120, 330), "property_management", rng.choice(in_estate)) for _ in range(count)]
    for i in range(cfg.childcare):  # after-school care: a hot issue raised again and again
        offset = rng.randint(200, 290) if i < cfg.childcare * 0.6 else rng.randint(1, 364)
        plan.append((offset, "childcare", None if rng.random() < 0.2 else rng.choice(specs)))
    categories, weights = zip(*_CATEGORY_WEIGHTS.items(), strict=True)
    while len(plan) < cfg.cases:
        building = None if rng.random() < 0.1 else rng.choice(specs)
        plan.append((rng.randint(1, 364), rng.choices(categories, weights)[0], building))

    drafted = []
    for seq, (offset, category, b) in enumerate(plan):
        channel = rng.choices(CHANNELS, _CHANNEL_WEIGHTS)[0]
        start, end, _ = rng.choices(_WINDOWS[channel], [w for *_, w in _WINDOWS[channel]])[0]
        drafted.append((offset, rng.randrange(start, end), rng.randrange(60), rng.random(), seq, category, b, channel))
    drafted.sort(key=lambda d: (-d[0], d[1], d[2], d[4]))  # oldest first, so keys run roughly by date

    members = [h for h in residents[None] if "party_member" in h["tags"]]
    out = []
    for n, (offset, minute, second, weekday_u, _, category, b, channel) in enumerate(drafted, start=1):
        pairs = _TEXT[_text_group(category, b, cfg)]
        if b is None:
            pairs = tuple(p for p in pairs if not any(s in p[0] + p[1] for s in _BUILDING_SLOTS))
        title_t, desc_t = rng.choice(pairs)
        estate = b["_estate"] if b else rng.choice(cfg.estates)
        top = b["floors"] if b else estate.floors[1]
        slots = {
            "b": b["name"] if b else "",
            "estate": estate.name,
            "road": estate.road,
            "place": rng.choice(cfg.places),
            "u": rng.randint(1, b["units"]) if b else 1,
            "f": rng.randint(2, top),
            "top": top,
            "n": rng.randint(2, 5),
            "s": rng.choice(_SURNAMES[:12]),
        }
        short = f"{b['_no']}号楼" if b else ""
        title = title_t.format(**{**slots, "b": short if b and rng.random() < 0.25 else slots["b"]})
        description = rng.choice(_PREFIXES[channel]) + desc_t.format(**slots) + rng.choice(_ASKS)
        reporter = None
        if rng.random() >= _ANONYMOUS.get(channel, 0.03):
            h = rng.choice(residents[b["code"] if b else None])
            reporter = {"name": h["head_name"], "phone": h["phone"]}
        reporter = _party_proposer(f"{community}-demo-{n:04d}", channel, title + description, reporter, members)
        out.append(
            {
                "key": f"{community}-demo-{n:04d}",
                "community": community,
                "channel": channel,
                "category": category,
                "title": title,
                "description": description,
                "building": b["code"] if b else None,
                "reporter": reporter,
                "registered_at": _registered_at(now, offset, minute, second, weekday_u),
            }
        )
    return out


SUGGESTION_WORDS = ("建议", "希望增设", "能否")
PROPOSING_CHANNELS = ("forum", "deputies_studio", "online", "mailbox")


def member_id(household: dict) -> str:
    """The demo member file of a party-member household's head (points' member id)."""
    return f"pm-{household['code']}"


def _party_proposer(key: str, channel: str, text: str, reporter: dict | None, members: list[dict]) -> dict | None:
    """Half of the suggestions raised at forums, studios, online and by letter come from party members
    (党员建言献策); the reporter becomes that member. Its own random stream, so nothing else moves."""
    if channel not in PROPOSING_CHANNELS or not any(w in text for w in SUGGESTION_WORDS) or not members:
        return reporter
    rng = random.Random(f"minqing-demo-proposer-{key}")
    if rng.random() >= 0.5:
        return reporter
    h = rng.choice(members)
    return {"name": h["head_name"], "phone": h["phone"], "member": member_id(h)}


_PROFESSIONS = (
    ("律师", ("法律咨询", "矛盾调解")),
    ("医生", ("义诊", "急救培训")),
    ("教师", ("课业辅导", "书法")),
    ("电工", ("水电维修",)),
    ("会计", ("财务咨询",)),
    ("退役军人", ("治安巡逻", "应急救援")),
    ("社工", ("心理疏导", "助老服务")),
    ("工程师", ("房屋安全", "电梯安全")),
    ("公务员", ("政策宣讲",)),
    ("厨师", ("助餐服务",)),
)


def party_members(community: str) -> list[dict]:
    """Member files for the heads of party-member households: branch by grid, retired or serving (with a
    resident unit), a profession with its specialties. Deterministic, like the rest of the pilot."""
    rng = random.Random(f"minqing-demo-party-{community}")
    grid_of = {b["code"]: b["grid"] for b in buildings(community)}
    grid_no = {g["code"]: n for n, g in enumerate(grids(community), start=1)}
    units = [u["code"] for u in resident_units(community)]
    out = []
    for h in households(community):
        if "party_member" not in h["tags"]:
            continue
        retired = rng.random() < 0.55
        profession, specialties = rng.choice(_PROFESSIONS)
        out.append(
            {
                "id": member_id(h),
                "community": community,
                "name": h["head_name"],
                "phone": h["phone"],
                "branch": "退休党支部"
                if retired
                else f"第{_NUMERALS[(grid_no[grid_of[h['building']]] - 1) // 3]}党支部",
                "status": "retired" if retired else "serving",
                "unit": None if retired or not units else rng.choice(units),
                "birth_year": rng.randint(1945, 1962) if retired else rng.randint(1965, 1998),
                "professions": [profession],
                "specialties": list(specialties),
                "availability": rng.sample(["weekdays", "evenings", "weekends", "on_call"], rng.randint(1, 2)),
            }
        )
    return out


def _registered_at(now: datetime.datetime, offset: int, minute: int, second: int, u: float):
    """Lay a fixed (day offset, time of day) back from ``now``; most weekend dates move to a weekday."""
    day = now.date() - datetime.timedelta(days=offset)
    if day.weekday() >= 5 and u < 0.6:  # move to a weekday of the same week, picked by u
        moved = offset + day.weekday() - int(u / 0.6 * 5)
        if moved <= 364:
            day = now.date() - datetime.timedelta(days=moved)
    return datetime.datetime.combine(day, datetime.time(minute // 60, minute % 60, second), tzinfo=now.tzinfo)
