"""Word lists of the generated villages: surnames and given-name characters with realistic
frequencies, place-name syllables, look-alike pairs people confuse, and rare characters a GBK
system cannot carry. Typed here for the harness only: the linker never reads them."""
from __future__ import annotations

# Surnames by share of the population (per mille, national figures, rounded)
SURNAMES = {
    "王": 71, "李": 70, "张": 67, "刘": 54, "陈": 45, "杨": 31, "黄": 21, "赵": 20, "吴": 18, "周": 17,
    "徐": 13, "孙": 12, "马": 12, "朱": 11, "胡": 11, "郭": 10, "何": 9, "林": 9, "高": 9, "罗": 8,
    "郑": 7, "梁": 7, "谢": 6, "宋": 5, "唐": 5, "许": 5, "韩": 5, "冯": 5, "邓": 5, "曹": 4,
    "彭": 4, "曾": 4, "肖": 4, "田": 4, "董": 4, "袁": 4, "潘": 3, "于": 3, "蒋": 3, "蔡": 3,
    "余": 3, "杜": 3, "叶": 3, "程": 3, "苏": 3, "魏": 3, "吕": 3, "丁": 3, "任": 3, "沈": 3,
    "姚": 3, "卢": 3, "姜": 2, "崔": 2, "钟": 2, "谭": 2, "陆": 2, "汪": 2, "范": 2, "金": 2,
    "石": 2, "廖": 2, "贾": 2, "夏": 2, "韦": 2, "付": 2, "方": 2, "白": 2, "邹": 2, "孟": 2,
    "熊": 2, "秦": 2, "邱": 2, "江": 2, "尹": 2, "薛": 1, "闫": 1, "段": 1, "雷": 1, "侯": 1,
    "龙": 1, "史": 1, "陶": 1, "黎": 1, "贺": 1, "顾": 1, "毛": 1, "郝": 1, "龚": 1, "邵": 1,
    "万": 1, "钱": 1, "严": 1, "覃": 1, "武": 1, "戴": 1, "莫": 1, "孔": 1, "向": 1, "汤": 1,
    "章": 1, "柳": 1, "傅": 1, "欧阳": 1,
}

# Given-name characters, most frequent first (weights fall off as 1/rank)
GIVEN_MALE = ("伟 强 磊 军 勇 杰 涛 明 超 刚 平 辉 华 建 国 鹏 飞 波 斌 宇 浩 凯 健 俊 帆 旭 宁 龙 林 阳 峰 成 志 毅 东 海 春 庆 "
              "生 新 德 金 福 荣 彬 良 忠 祥 永 胜 兵 红 小 晓 光 伦 翔 锐 文 武 亮 雷 坤 博 振 家 兴 元 民 利 清 发 财 贵 富 宝 "
              "山 水 云 天 中 正 学 江 河 松 柏 青 栋 梁 仁 义 礼 智 信 长 有 万 全 顺 安 昌 盛 达 远 洪 卫 星 宏 泽 晨 然 "
              "轩 睿 子 一 思 嘉 豪 航 铭 诚 瑞 逸 皓 昊 泉 根 宗 祖 定 道 立 树 桂 银 铁 钢 锋 继 承 先 进 保 设 喜 来").split()
GIVEN_FEMALE = ("芳 娜 敏 静 丽 艳 娟 霞 秀 英 玲 桂 兰 萍 燕 红 梅 琳 雪 慧 婷 颖 洁 琴 云 莲 凤 珍 玉 小 晓 春 翠 菊 娥 芬 "
                "淑 佳 美 娇 莉 欣 怡 悦 雨 萱 涵 琪 月 彩 香 花 荣 琼 倩 蓉 妍 丹 晶 露 冰 媛 婉 瑶 璐 菲 薇 岚 瑜 华 平 "
                "秋 冬 夏 金 银 素 爱 巧 凤 艾 青 清 文 思 嘉 欢 宁 安 静 惠 丽 荷 蕾 蓓 娅 姗 婕 馨 茜 娴 珊 虹 霜").split()
GIVEN_TWO_SHARE = 0.72          # given names of two characters; the rest have one

# Minority names (given name · father's name), a share of the villagers
MINORITY_SHARE = 0.01
MINORITY_GIVEN = ["阿依古丽", "古丽米拉", "买买提", "艾力", "吐尔逊", "阿不都", "热依拉", "努尔", "帕提古丽", "迪丽娜尔"]
MINORITY_FATHER = ["买买提", "吐尔逊", "艾山", "阿不力孜", "依明", "热合曼", "玉素甫", "库尔班"]
DOT_VARIANTS = ["•", ".", "・", "∙", "．"]

# Place names: township = two syllables + 镇/乡, village = two syllables + 村
PLACE_SYLLABLES = list("石花东西南北新老大小上下前后中桥河湾山岭坪塘冲湖港林口岗洲畈店铺庙寺坳垴坡")

# Characters of names that a GBK system cannot carry: exported as ? or □
RARE = list("䶮㛃䶵㐖㑇㒹㕮㙟㚚㛠㝽㞞")
RARE_SHARE = 0.006              # villagers whose given name holds one

# Pairs people read or write for each other (handwriting, printed forms, OCR): the table of
# the 三资 lease rule (spec) and more, as corrections clerks made show them. Not same-sound.
LOOKALIKES = ("天夭 军车 力刀 金全 永水 平乎 英荚 娜挪 春舂 华毕 国固 超起 波泼 志忘 成戍 佳住 洋详 涛祷 海诲 梅悔 "
              "荣劳 雪雷 士土 未末 己已 日曰 人入 戊戌 宇字 王玉 王主 大太 太犬 木本 本术 千干 干于 午牛 贝见 今令 "
              "微徽 辨辩 崇祟 栗粟 刺剌 明朋 晴睛 清请 鸟乌 免兔 已巳 历厉 冶治 折拆 拔拨 杨扬 扬场 淑叔 婷停 亭亮 "
              "娟绢 倩情 丹舟 兵乒 乒乓 鹏鹃 旭旨 机杌 龙尤 林材 阳阴 成城 春泰 春奉 庆床 生牛 新亲 福幅 祥详 祥洋 "
              "胜性 小少 晓烧 光先 伦论 伦轮 娜哪 英央 玲珍 珍诊 桂挂 萍苹 琳淋 慧彗 颖颍 洁浩 莲连 凤风 翠萃 菊鞠 "
              "娥峨 芬纷 辉挥 勇男 刚岗 平评 波坡 浩告 健键 帆帜 宁守 国困 志忠 东车 海梅 德徳 良艮 永冰 兵宾 红虹 "
              "秀季 欣钦 怡治 悦锐 萱宣 涵函 琪棋 月用 彩采 香杳 花化 妍研 晶品 冰水 媛援 婉碗 瑶摇 菲非 薇微 文丈 "
              "武式 坤伸 博搏 家冢 兴光 元无 民氏 利和 发友 财材 贵责 山出 云元 天无 中申 正止 学字 江汪 柏伯 栋拣 "
              "梁粱 仁任 义叉 智知 长卡 万方 全金 顺须 安宝 昌冒 盛成 远运 洪共 卫工 星皇 宏宠 泽择 晨晟 然燃 轩轨 "
              "子孑 思恩 嘉喜 豪毫 航般 铭名 诚城 瑞端 皓浩").split()

# Share of records by what happened to the name on its way (the rest are delivered exactly).
# Typed rosters: spaces for alignment and input-method slips (同音) are the common changes;
# a character misread from a handwritten form (形近) is rarer; a village written wrong rarer still.
CORRUPTIONS = {
    "spaces": 0.14,          # 张 伟, 张　伟
    "traditional": 0.06,     # 張偉 (a Taiwanese or old system)
    "fullwidth": 0.05,       # full-width characters and spaces, ？ for ?
    "same_sound": 0.38,      # one character typed by its sound: 张伟 -> 张维
    "lookalike": 0.01,       # one character misread: 王玲 -> 王铃
    "neighbouring": 0.02,    # the person's village written as another of the township
}
DECOY_SHARE = 0.03           # records of people absent from the registry (one unrelated character away)
TRAP_SHARE = 0.02            # villagers who have a same-sound twin in the village (徐宇 / 许玉)
