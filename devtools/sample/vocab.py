"""Word lists of the synthetic city (黄石市, area codes 4202xx).

Every string here is GBK-encodable, so any file may be exported as GBK.
"""
from __future__ import annotations

# (area code, district, streets/townships)
DISTRICTS = [
    ("420202", "黄石港区", ["花湖街道", "胜阳港街道", "沈家营街道", "黄石港街道"]),
    ("420203", "西塞山区", ["临江街道", "八泉街道", "澄月街道", "河口镇"]),
    ("420204", "下陆区", ["东方山街道", "团城山街道", "新下陆街道", "老下陆街道"]),
    ("420205", "铁山区", ["鹿獐山街道", "铁山街道"]),
    ("420222", "阳新县", ["兴国镇", "富池镇", "白沙镇", "浮屠镇", "三溪镇"]),
    ("420281", "大冶市", ["东岳路街道", "金湖街道", "罗家桥街道", "还地桥镇", "陈贵镇"]),
]
DISTRICT_WEIGHTS = [0.14, 0.10, 0.10, 0.04, 0.30, 0.32]

ROADS = ["颐阳路", "杭州东路", "湖滨大道", "黄石大道", "广州路", "磁湖路", "武汉路", "新下陆大道",
         "文化宫路", "工人村路", "延安路", "团城山路", "青龙山路", "月亮山路", "交通路", "沿湖路"]

SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘"
                "蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦樊方白邹孟熊秦邱江尹"
                "薛段雷侯史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤")
# No name made of these may be a word of the city's own text (王家村, 罗家桥街道, 资金文号, 陈贵镇, 养老金发放):
# the masking tests look for every resident's name in a run's output (tests/test_sample.py checks it).
GIVEN_MALE = list("伟强磊军勇杰涛明超刚平辉鹏华飞鑫波斌宇浩凯健俊帆旭宁龙林阳建国峰成志毅东海春庆生"
                  "新德金福荣彬良忠祥永胜兵红小晓光伦翔锐")
GIVEN_FEMALE = list("芳娜敏静丽艳娟霞秀英玲桂兰萍燕红梅琳雪慧婷颖洁琴云莲凤珍玉小晓春翠菊娥芬淑佳")

# simplified -> traditional for characters whose OpenCC t2s maps straight back
TRADITIONAL = dict(zip(
    "陈张刘赵黄吴郑钱孙杨国华丽伟军红东兰凤强辉龙贵荣庆宁刚涛鹏飞阳艳颖洁云莲马冯邓许韩谢罗叶卢苏蒋贾顾龚万严汤陆钟谭邹贺杰静凯",
    "陳張劉趙黃吳鄭錢孫楊國華麗偉軍紅東蘭鳳強輝龍貴榮慶寧剛濤鵬飛陽艷穎潔雲蓮馬馮鄧許韓謝羅葉盧蘇蔣賈顧龔萬嚴湯陸鍾譚鄒賀傑靜凱"))

# Uyghur names are written given-name·father's-name
MINORITY_GIVEN = ["阿依古丽", "古丽米拉", "买买提", "艾力", "吐尔逊", "阿不都", "热依拉", "努尔",
                  "帕提古丽", "迪丽娜尔", "艾克拜尔", "阿里木", "古再丽努尔", "米娜瓦尔"]
MINORITY_FATHER = ["买买提", "吐尔逊", "艾山", "阿不力孜", "依明", "热合曼", "玉素甫", "库尔班"]
MIDDLE_DOT = "·"
DOT_VARIANTS = ["·", "•", ".", "・"]      # as different systems type the middle dot
GBK_DOT_VARIANTS = ["·", "."]              # the ones a GBK export can carry
LATIN_NAMES = ["JOHN SMITH", "MARIA GARCIA", "DAVID LEE", "ANNA KOWALSKI", "PETER BROWN", "SOFIA ROSSI"]

ETHNICITIES = ["汉族", "土家族", "回族", "苗族", "满族", "维吾尔族", "其他"]
ETHNICITY_WEIGHTS = [0.952, 0.02, 0.012, 0.008, 0.003, 0.004, 0.001]
UYGHUR, OTHER_ETHNICITY = 5, 6

RELATIONS_HEAD, RELATIONS_OTHER = "户主", ["配偶", "子", "女", "父亲", "母亲", "孙子", "孙女", "儿媳", "其他"]

SCHEMES = ["企业职工基本养老保险", "机关事业单位基本养老保险", "城乡居民基本养老保险"]
SCHEME_WEIGHTS = [0.55, 0.10, 0.35]
SCHEME_AMOUNT_YUAN = [(1800, 5200), (4200, 8800), (150, 420)]  # monthly pension ranges
PENSION_STATUS = ["正常发放", "暂停发放", "终止发放"]

HOSPITALS = [
    ("420200100001", "黄石市中心医院"),
    ("420200100002", "黄石市第二医院"),
    ("420200100003", "黄石市中医医院"),
    ("420281100011", "大冶市人民医院"),
    ("420222100021", "阳新县人民医院"),
    ("420203200031", "西塞山区人民医院"),
    ("420204200041", "下陆区社区卫生服务中心"),
]
HOSPITAL_WEIGHTS = [0.28, 0.16, 0.12, 0.16, 0.16, 0.06, 0.06]
DEPARTMENTS = ["内科", "外科", "心血管内科", "呼吸内科", "内分泌科", "骨科", "眼科", "口腔科", "中医科", "全科"]
DIAGNOSES = ["I10", "I25.1", "I63.9", "J18.9", "J44.1", "E11.9", "K29.7", "M17.9", "N18.9", "C34.9", "S72.0", "I50.9"]
DISPOSITIONS_ALIVE = ["1", "2", "3", "4", "9"]
DISPOSITION_WEIGHTS = [0.86, 0.05, 0.03, 0.05, 0.01]
DEATH_DISPOSITION = "5"

CARD_TYPES = ["老年卡", "敬老卡", "普通卡"]
CARD_STATUS = ["正常", "挂失", "注销"]
REVIEW_METHODS = ["人脸识别", "人工窗口", "自助终端"]
REVIEW_RESULTS = ["通过", "未通过"]
ROUTES = [f"{n}" for n in (1, 2, 3, 5, 6, 7, 8, 9, 10, 12, 15, 16, 18, 19, 20, 23, 25, 29, 31, 36, 39, 40, 301, 302, 508)]

PERSON_STATUS = ["正常", "死亡", "迁出", "其他注销"]
CANCEL_REASONS = ["死亡", "迁出", "出国", "服兵役", "其他"]
NULL_TOKENS = ["", "NULL", "\\N", "-"]
