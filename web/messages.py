"""The one message catalogue: stable English codes and states to the Chinese people read."""

from __future__ import annotations

ERRORS = {
    "bad_request": "请求格式不正确。",
    "json_required": "请以 JSON 格式提交。",
    "unknown_field": "包含不允许的字段：{field}。",
    "nul_character": "内容里有无法保存的空字符（\\0），请删除后再提交。",
    "field_required": "缺少必填项：{field}。",
    "field_invalid": "字段格式不正确：{field}。",
    "login_code_missing": "缺少微信登录凭证，请重新进入小程序。",
    "login_code_invalid": "微信登录凭证无效或已过期，请重新进入小程序。",
    "wechat_unavailable": "微信服务暂时无法连接，请稍后再试。",
    "login_user_risky": "微信提示当前账号存在安全风险，暂时无法登录。请在微信“我-设置-账号与安全”中处理后再试，"
                        "或拨打 12345 反映。",
    "wechat_misconfigured": "系统与微信的连接配置有误，工作人员正在处理，请稍后再试。",
    "session_missing": "请先登录。",
    "session_invalid": "登录状态无效，请重新进入小程序。",
    "session_expired": "登录已过期，请重新进入小程序。",
    "scene_missing": "缺少二维码信息，请重新扫码。",
    "scene_unknown": "未找到这个二维码对应的单位，请确认二维码来自本社区的公示牌。",
    "scene_revoked": "这个二维码已被更换，请扫描公示牌上的新码。",
    "scene_unit_retired": "这个二维码所属的单位已撤销，请联系所在社区或拨打 12345 反映。",
    "scene_link_foreign": "这个二维码不是本社区公示牌上的码，请扫描公示牌上的二维码。",
    "representative_not_found": "未找到这位议政代表或民意联络员。",
    "representative_name_empty": "请填写姓名。",
    "representative_name_too_long": "姓名不能超过 {limit} 字。",
    "representative_name_glyphs": "姓名里有连心卡字体无法显示的字：{chars}，请改用常用字或联系管理员。",
    "representative_kind_unknown": "请选择议政代表或民意联络员。",
    "representative_duties_unknown": "请从候访、接访、约访、走访中选择职责。",
    "representative_recommender_empty": "请填写推荐人或推荐单位（例如：党支部、居民小组）。",
    "representative_unit_invalid": "只能为您管辖范围内的单位登记。",
    "representative_transition_not_allowed": "当前环节不能进行这一步，请刷新页面查看最新状态。",
    "representative_not_appointed": "只有已聘任的代表才有连心码。",
    "representative_staff_invalid": "只能关联本辖区、角色为“议政代表”且尚未关联他人的账号。",
    "notice_period_running": "公示期尚未结束，公示期满后才能聘任。",
    "term_end_invalid": "任期截止日期格式不正确，请按“2027-12-31”填写。",
    "on_behalf_unit_invalid": "请选择您负责的单位。",
    "on_behalf_heard_via_unknown": "请选择是怎样听到的：走访、约访、电话或候访/接访。",
    "on_behalf_name_too_long": "居民称呼不能超过 {limit} 字。",
    "on_behalf_known_invalid": "未找到这个反映编号，或它不在您负责的单位。不知道编号可以留空。",
    "activity_kind_unknown": "请选择活动类型。",
    "activity_date_invalid": "活动日期格式不正确，且不能晚于今天。",
    "activity_summary_empty": "请填写活动内容。",
    "activity_people_invalid": "参加人数应为 0 到 100000 之间的整数。",
    "link_file_name_invalid": "校验文件名只能包含字母、数字、下划线和短横线（可带 .txt）。",
    "link_file_content_invalid": "校验文件内容应为微信给出的一串字母和数字（不超过 256 个字符）。",
    "unit_not_found": "未找到这个单位。",
    "unit_retired": "这个单位已撤销，不能再生成二维码。",
    "poster_size_unknown": "海报尺寸只能是 {sizes}。",
    "poster_name_too_long": "单位名称“{name}…”太长，海报上放不下，请缩短名称。",
    "wxacode_failed": "微信暂时无法生成小程序码（{detail}），请稍后重试，或先使用普通二维码海报。",
    "export_format_unknown": "导出格式只能是 zip 或 pdf。",
    "public_url_loopback": "注意：公网地址（XINMA_PUBLIC_URL）是本机地址 {url}，海报上的二维码在居民手机上打不开。"
                           "请先设置对外的网址，再生成海报。",
    "import_invalid": "导入文件有 {count} 处错误，未导入任何单位。",
    "import_not_utf8": "第 {line} 行：文件不是 UTF-8 编码，请另存为 UTF-8 CSV。",
    "import_empty": "第 {line} 行：文件是空的。",
    "import_malformed": "第 {line} 行：CSV 格式不正确（{detail}）。",
    "import_xlsx_unreadable": "第 {line} 行：无法读取这个 Excel 文件，请另存为 .xlsx 或 UTF-8 CSV。",
    "import_header": "第 {line} 行：表头缺少列：{columns}。",
    "import_columns": "第 {line} 行：应有 {expected} 列，实际 {got} 列。",
    "import_too_many": "第 {line} 行：一次最多导入 {limit} 行。",
    "import_code_empty": "第 {line} 行：单位代码为空。",
    "import_code_invalid": "第 {line} 行：单位代码“{code}”格式不正确。",
    "import_code_duplicate": "第 {line} 行：单位代码 {code} 与第 {first} 行重复。",
    "import_name_empty": "第 {line} 行：单位名称为空。",
    "import_name_too_long": "第 {line} 行：单位名称不能超过 {limit} 字。",
    "import_name_glyphs": "第 {line} 行：单位名称含有海报字体无法显示的字：{chars}。",
    "import_name_too_long_for_poster": "第 {line} 行：单位全称太长，海报上放不下。",
    "import_level_unknown": "第 {line} 行：层级“{level}”无法识别（区、街道、镇、社区、村、网格）。",
    "import_parent_missing": "第 {line} 行：只有区可以没有上级单位。",
    "import_parent_unknown": "第 {line} 行：上级代码 {parent} 不存在。",
    "import_cycle": "第 {line} 行：单位 {code} 的上级关系形成了循环。",
    "import_level_mismatch": "第 {line} 行：上级 {parent} 的层级不对（区→街道/镇→社区/村→网格）。",
    "import_categories_invalid": "导入文件有 {count} 处错误，类别未作任何改动。",
    "import_label_empty": "第 {line} 行：类别名称为空。",
    "import_label_too_long": "第 {line} 行：类别名称不能超过 {limit} 字。",
    "import_label_duplicate": "第 {line} 行：类别“{label}”重复。",
    "tracking_not_found": "未找到这条反映，请检查链接是否完整。",
    "category_unknown": "请选择一个问题类别。",
    "text_empty": "请描述您遇到的问题。",
    "text_too_long": "问题描述不能超过 {limit} 字。",
    "complaint_not_found": "未找到这条反映。",
    "phone_invalid": "请填写 11 位手机号码，或留空。",
    "phone_code_missing": "缺少微信手机号凭证，请重新点击“使用微信手机号”。",
    "phone_code_invalid": "微信手机号凭证无效或已过期，请重新点击“使用微信手机号”。",
    "phone_not_mainland": "微信绑定的不是中国大陆手机号，请直接填写 11 位手机号码。",
    "phone_unavailable": "暂时无法获取微信手机号，请直接填写手机号码。",
    "location_invalid": "位置信息不正确，请重新选择位置。",
    "photos_invalid": "照片信息不正确，请重新上传。",
    "photos_too_many": "最多上传 {limit} 张照片。",
    "photo_missing": "请选择一张照片上传。",
    "photo_not_found": "未找到这张照片。",
    "photo_already_used": "这张照片已用于另一条反映，请重新上传。",
    "photo_too_large": "照片太大，请压缩到 {limit_mb}MB 以内再上传。",
    "photo_too_many_pixels": "照片尺寸太大，请缩小后再上传。",
    "photo_type_unsupported": "只能上传 JPG、PNG 或 WEBP 格式的照片。",
    "photo_unreadable": "照片无法读取，可能已损坏，请重新拍摄。",
    "h5_photo_refused": "第 {index} 张照片：{message}",
    "h5_upload_too_large": "照片加起来太大（最多 {limit_mb}MB），请少选几张或压缩后再提交。",
    "thumbnail_not_ready": "缩略图正在生成，请稍后再看。",
    "idempotency_key_invalid": "请求编号格式不正确，请重新提交。",
    "idempotency_key_reused": "同一请求编号已用于内容不同的提交，请重新提交。",
    "idempotency_key_in_progress": "这次提交正在处理中，请稍候。",
    "push_signature_invalid": "推送签名无效。",
    "push_timestamp_stale": "推送时间戳无效或已过期。",
    "push_replayed": "该推送已处理过，不能重复提交。",
    "push_unreadable": "推送内容无法读取。",
    "reveal_reason_required": "查看完整手机号需要填写原因。",
    "reveal_reason_too_long": "原因不能超过 {limit} 字。",
    "phone_not_given": "居民没有留下手机号。",
    "topic_not_found": "未找到这个议题。",
    "not_found": "页面不存在。",
    "complaint_transition_not_allowed": "这条反映当前状态不允许此操作，可能已被他人处理，请刷新后查看。",
    "topic_transition_not_allowed": "这个议题当前状态不允许此操作，可能已被他人处理，请刷新后查看。",
    "stale_form": "这条内容已被他人更新，请刷新后再操作。",
    "hotspot_stale": "这组反映已有变化（已生成议题或有反映已被分拣），请刷新热点后再操作。",
    "hotspot_empty": "没有选中任何反映。",
    "hotspot_too_large": "一次最多汇集 {limit} 条反映。",
    "hotspot_mixed": "只能汇集同一社区（村）、同一类别的反映。",
    "hotspot_days_invalid": "最近天数请填写 1 到 365 之间的整数。",
    "hotspot_min_size_invalid": "至少条数请填写 2 到 100 之间的整数。",
    "csrf_invalid": "页面已过期，请刷新后重新提交。",
    "signin_failed": "用户名或密码不正确。",
    "signin_locked": "登录失败次数过多，账号已暂时锁定，请 {minutes} 分钟后再试。",
    "bind_code_invalid": "绑定码不正确或已过期，请在工作人员页面重新生成。",
    "openid_taken": "这个微信已绑定另一个工作人员账号，请先在那个账号里解除绑定。",
    "invitation_invalid": "邀请链接无效、已使用或已过期，请联系管理员重新邀请。",
    "username_invalid": "用户名需为 3 到 64 位字母、数字或 ._-。",
    "username_taken": "这个用户名已被使用，请换一个。",
    "password_weak": "密码至少需要 {min} 位。",
    "display_name_invalid": "请填写姓名（不超过 64 字）。",
    "units_required": "请至少选择一个负责的单位。",
    "role_unknown": "未知的岗位。",
    "signin_required": "请先登录。",
    "title_empty": "请填写议题名称。",
    "title_too_long": "议题名称不能超过 {limit} 字。",
    "reason_required": "请选择不予协商的理由。",
    "reason_unknown": "未知的理由代码。",
    "reply_empty": "请填写给居民的答复。",
    "deliberation_category_unknown": "请选择议题类别。",
    "reject_reason_required": "请填写未通过审定的理由。",
    "merge_target_invalid": "只能合并到本单位另一个待审定或已审定的议题。",
    "route_step_unknown": "未知的四议步骤。",
    "route_step_order": "四议须依次进行：请先记录“{previous}”。",
    "route_step_recorded": "这一步已经记录过了。",
    "votes_invalid": "表决票数须为不小于 0 的整数。",
    "date_invalid": "日期格式不正确，请按 2026-11-23 填写。",
    "meeting_title_empty": "请填写议事会名称。",
    "meeting_place_empty": "请填写开会地点。",
    "meeting_room_unavailable": "只能选择本单位或上级单位在用的议事室。",
    # council rooms, units, categories and working days (the admin's pages)
    "room_name_empty": "请填写议事室名称。",
    "room_not_found": "未找到这个议事室。",
    "room_retired": "这个议事室已停用。",
    "room_unit_invalid": "请选择议事室所属的单位（不能选已撤销的单位）。",
    "room_capacity_invalid": "可容纳人数须是 1 到 10000 之间的整数；不清楚请留空。",
    "unit_already_retired": "这个单位已经撤销了。",
    "unit_retire_unconfirmed": "请勾选“我已确认”后再撤销单位。",
    "unit_retire_district": "不能在这里撤销整个区。",
    "unit_has_live_children": "请先撤销它下辖的 {count} 个单位。",
    "cadence_invalid": "议事频次须是 0 到 24 之间的整数（月）；0 表示不要求。",
    "category_label_empty": "请填写类别名称。",
    "category_label_too_long": "类别名称不能超过 {limit} 字。",
    "category_duplicate": "已有名为“{label}”的类别。",
    "category_not_found": "未找到这个类别。",
    "category_last": "至少要保留一个在用的类别。",
    "category_retired": "这个类别已停用。",
    "calendar_day_invalid": "日期格式不正确，请按 2026-10-09 填写。",
    "calendar_kind_unknown": "请选择“放假”或“上班”。",
    "calendar_name_empty": "请填写说明（例如：区运会放假、调休上班）。",
    "calendar_day_exists": "{day} 已经设置过了，请先删除再设置。",
    "calendar_entry_not_found": "未找到这一天的设置。",
    "meeting_form_unknown": "请选择议事形式：座谈、听证或上门。",
    "meeting_time_invalid": "开会时间格式不正确。",
    "meeting_in_past": "开会时间已经过去，请选择以后的时间。",
    "meeting_not_found": "未找到这次议事会。",
    "meeting_already_held": "这次议事会已记录为召开，不能再修改议程。",
    "agenda_topic_other_unit": "只能把本单位的议题列入议程。",
    "agenda_topic_not_ready": "只有已审定的议题才能列入议程。",
    "participant_role_unknown": "请选择参会人员类别。",
    "participant_name_empty": "请填写参会人员姓名或部门名称。",
    "outcome_unknown": "请为每个议题选择协商结果。",
    "solution_empty": "达成共识时请填写议定的解决方案。",
    "minutes_empty": "请填写会议纪要。",
    "registration_not_behind": "您没有反映过这次议事会的议题，无法报名。",
    "registration_closed": "这次议事会已经召开，报名已截止。",
    "registration_duplicate": "您已经报过名了。",
    "registration_full": "名额已满（共 {capacity} 个），报名已截止。",
    "registration_not_in_unit": "这次议事会面向本社区（村）居民：请扫描本社区（村）的心码后报名。",
    "meeting_cancelled": "这次议事会已经取消。",
    "meeting_not_started": "议事会 {at} 才开始，开始以后才能记录会议情况。",
    "meeting_unchanged": "新的时间和地点与原来相同，没有改动。",
    "cancel_reason_empty": "请填写取消的原因，会告知受邀和已报名的居民。",
    "capacity_invalid": "名额须是 1 到 10000 之间的整数；不限名额请留空。",
    "queue_state_unknown": "没有这个状态，请从列表上方的状态中选择。",
    "lead_kind_unknown": "请选择领办主体：支部、书记、党员中心户、骨干党员或部门。",
    "lead_name_empty": "请填写领办人或领办部门。",
    "due_date_in_past": "完成期限不能早于今天。",
    "assignment_exists": "这个议题已经指定了领办。",
    "topic_not_agreed": "只有达成共识的议题才能指定领办。",
    "percent_out_of_range": "进度须是 0 到 100 之间的整数。",
    "photo_invalid": "照片须是 JPEG 或 PNG 图片。",
    "rating_unknown": "请选择满意、基本满意或不满意。",
    "rating_not_open": "这个议题还没有落实完毕，暂不能评价。",
    "rating_not_behind": "您没有反映过这个议题，不能评价。",
    "rating_duplicate": "您已经评价过这一轮落实结果了。",
    "rating_reason_required": "选择不满意时，请说明原因，我们会重新办理。",
    "complaint_rating_not_open": "这条反映还没有答复，或这次答复您已经评价过了。",
    "close_reason_required": "请填写办结的理由，居民会看到。",
    "topic_not_closable": "议题当前的状态不能直接办结。",
    "resolution_text_empty": "请填写居民会议的决议内容。",
    "resolution_result_unknown": "请选择决议结果：同意实施或不予实施。",
    "topic_not_referred": "只有转居民会议的议题才能记录居民会议决议。",
    "reject_handling_unknown": "请选择议题未通过后反映的去向：退回网格重新分拣，或直接答复居民。",
    "topic_origin_unknown": "请选择议题来源：党支部提议、书记提议或议政代表提议。",
    "proposer_empty": "请填写提议人或提议组织。",
    "publication_kind_unknown": "请选择公开类型：决策公开或结果公开。",
    "publication_text_empty": "请填写公开内容。",
    "publication_not_ready": "{kind}还不能公开：议题尚未{needed}。",
    "publication_duplicate": "这一项已经公开过了。",
    "unit_out_of_scope": "您没有查看这个单位统计数据的权限。",
    "period_invalid": "统计区间不正确：开始日期须不晚于结束日期。",
    "referral_unknown": "未知的转介渠道。",
    "solve_note_empty": "请填写在网格内是怎样解决的。",
    "escalate_reason_empty": "请填写上报的理由。",
    "escalate_top": "已是最高一级单位，无法再向上报。",
    "merge_target_required": "请填写要合并到的反映编号或选择议题。",
    "merge_into_self": "不能把一条反映合并到它自己。",
    "merge_target_not_found": "未找到要合并到的反映。",
    "merge_target_closed": "要合并到的反映已办结或已合并，不能再合并进去。",
    "topic_closed": "这个议题已结束，不能再并入新的反映。",
    "visit_notes_empty": "请填写上门协商的情况。",
    "note_too_long": "填写的内容不能超过 {limit} 字。",
    "note_empty": "请填写补充的内容或选择照片。",
    "note_limit_reached": "这条反映已补充 {limit} 次，请等待工作人员回复。",
    "complaint_closed": "这条反映已经办结，不能再补充；如有新问题请重新反映。",
    "filter_invalid": "筛选条件不正确。",
    "rate_limited": "操作太频繁，请稍后再试。",
    "review_reason_required": "请填写审核意见（原因）。",
    "review_reason_too_long": "原因不能超过 {limit} 字。",
    "review_decision_unknown": "请选择“通过”或“隐藏”。",
    "review_not_pending": "这条内容已经有人审核过了，或不需要人工审核。",
    "submitter_blocked": "暂时无法提交反映。如有急事，请直接联系所在社区或拨打 12345。",
    "block_reason_required": "请填写屏蔽或解除屏蔽的原因。",
    "block_end_past": "屏蔽截止时间必须晚于现在。",
    "block_end_invalid": "屏蔽截止日期格式不正确。",
    "block_unknown_sender": "这条网页反映没有记录提交人的设备信息，无法屏蔽。",
    "block_exists": "这位提交人已被屏蔽。",
    "block_not_active": "这条屏蔽已经解除或到期。",
    "block_not_found": "未找到这条屏蔽记录。",
    "method_not_allowed": "不支持的请求方式。",
    "server_error": "服务器出了点问题，请稍后再试。",
    "subscription_template_unknown": "没有这个消息模板：{template}。",
    "notification_not_found": "未找到这条通知。",
    "notification_not_resendable": "这条通知当前状态不能重发（只有发送失败或待核查的通知可以重发）。",
    "legal_opinion_missing": "“{title}”属于重大事项，须经法制审核：还缺少法律顾问{adviser}出具的书面法律意见。"
                             "请法律顾问在“法制审核”页面签署意见后，再记录决议。",
    "legal_adviser_missing": "“{title}”属于重大事项，须经法制审核，但本村（社区）还没有指定法律顾问：请联系区管理员"
                             "指定，由法律顾问出具书面法律意见后再记录决议。",
    "legal_opinion_unlawful": "法律顾问{adviser}的法律意见认为“{title}”的方案不合法，不能作出同意实施的决议；"
                              "请修改方案后请法律顾问重新审核，或选择不予实施。",
    "legal_conclusion_unknown": "请选择审核结论：合法、需修改或不合法。",
    "legal_opinion_text_empty": "请填写法律意见的内容。",
    "legal_review_closed": "这个议题的决策已经公开或已进入落实，不能再出具法律意见。",
    "legal_adviser_invalid": "只能从本辖区的法律顾问中指定。",
    "major_category_unknown": "未知的议题类别。",
    "district_not_found": "未找到这个区，或您无权设置它的重大事项。",
    "document_missing": "请选择要上传的文件。",
    "document_empty": "上传的文件是空的。",
    "document_too_large": "文件太大，请压缩到 {limit_mb}MB 以内，或分成几份上传。",
    "document_type_unsupported": "只能上传 PDF、纯文本（UTF-8）或 JPG、PNG 图片；文件类型按内容识别，改文件名无效。",
    "document_unreadable": "文件无法读取，可能已损坏。",
    "document_title_too_long": "文件名称不能超过 {limit} 字。",
    "documents_too_many": "每个议题或议事会最多上传 {limit} 份精读材料。",
    "document_not_found": "未找到这份材料。",
    "meeting_cancelled_documents": "这次议事会已经取消，不能再上传材料。",
    "staff_not_found": "未找到这个工作人员账号。",
    "staff_self_change": "不能停用、重置或修改自己的账号，请由另一位管理员操作。",
    "staff_already_inactive": "这个账号已经停用。",
    "staff_already_active": "这个账号没有停用。",
    "staff_unit_out_of_scope": "只能分配您管辖范围内的单位。",
    "temporary_password_expired": "临时密码已过期，请联系管理员重新重置密码。",
    "password_current_wrong": "当前密码不正确。",
    "password_mismatch": "两次输入的新密码不一致。",
    "password_unchanged": "新密码不能与原来的密码相同。",
    "poster_address_loopback": "公网地址 {url} 是本机地址，海报上的二维码在居民手机上打不开，未导出海报。请先设置 "
                               "XINMA_PUBLIC_URL；仅作测试时可强制导出。",
}

COMPLAINT_STATES = {
    "submitted": "已提交",
    "awaiting_triage": "待网格员分拣",
    "not_deliberable": "不予协商，已答复",
    "solved": "已在网格解决",
    "merged": "已合并",
    "promoted": "已转为协商议题",
    "closed": "已办结",
}

TOPIC_STATES = {
    "proposed": "待审定",
    "approved": "已审定",
    "rejected": "未通过审定",
    "merged": "已合并",
    "scheduled": "已安排议事会",
    "agreed": "已达成共识",
    "no_consensus": "未达成共识",
    "referred": "提交居民会议",
    "implementing": "正在落实",
    "implemented": "已落实",
    "closed": "已办结",
}

# What a resident reads on their timeline for each audited action.
TIMELINE = {
    ("complaint", "submit"): "您的反映已提交",
    ("complaint", "accept"): "已受理，等待网格员分拣",
    ("complaint", "decline"): "经分拣不予协商，已答复",
    ("complaint", "solve"): "网格员已解决",
    ("complaint", "merge"): "与相同问题合并办理",
    ("complaint", "escalate"): "已上报上级单位",
    ("complaint", "promote"): "已转为协商议题",
    ("complaint", "visit"): "网格员已上门协商",
    ("complaint", "reopen"): "重新分拣",
    ("complaint", "close"): "已办结",
    ("complaint", "note"): "居民补充了信息",
    ("complaint", "reply"): "工作人员回复",
    ("topic", "approve"): "议题已通过审定",
    ("topic", "reject"): "议题未通过审定",
    ("topic", "schedule"): "已安排议事会",
    ("topic", "agree"): "议事会达成共识",
    ("topic", "disagree"): "议事会未达成共识",
    ("topic", "refer"): "提交居民会议决议",
    ("topic", "start"): "开始落实",
    ("topic", "complete"): "已落实",
    ("topic", "reopen"): "重新落实",
    ("topic", "close"): "已办结",
    ("topic", "merge"): "与相同议题合并办理",
}
# What staff read on a complaint's timeline for actions the resident's timeline leaves out.
STAFF_TIMELINE = {("complaint", "reveal_phone"): "查看电话", ("complaint", "hold"): "微信暂未审核，稍后重试"}
STAFF_TIMELINE[("complaint", "anonymise")] = "按保存期限删除个人信息"  # workers/retention.py

# The words of WeChat subscribe messages (models/message_templates.py says which field shows which). WeChat
# refuses a message whose `phrase` field is not 1 to 5 Chinese characters (no digits, punctuation or letters) or
# whose `thing` field is over 20 characters, so each outcome has a fixed label that fits; tests check every one.
# The result of each decision, by message (a `phrase` field).
MESSAGE_RESULTS = {
    "complaint_triaged": {
        "decline": "不予协商", "solve": "已解决", "escalate": "已上报", "visit": "已上门", "merge": "已合并",
        "promote": "转为议题", "join": "并入议题", "reopen": "重新分拣", "reply": "已回复",
    },
    "topic_progress": {
        "reject": "未通过", "schedule": "已排上议程", "agree": "达成共识", "disagree": "未达共识",
        "refer": "转居民会议", "start": "正在落实", "reopen": "重新落实", "close": "已办结",
    },
    "topic_published": {"decision": "决策公开", "result": "结果公开"},
    "meeting_changed": {"cancel": "已取消", "reschedule": "已改期"},
}
# 说明 of a triage decision (a `thing` field) when it has no detail of its own that fits: what the staff typed
# (a reply, a note) is never put in a message, the resident reads it on the complaint's page.
MESSAGE_DETAILS = {
    "decline": "请查看答复", "solve": "请查看回复", "escalate": "已转上级单位办理", "visit": "网格员已上门协商",
    "merge": "与相同问题合并办理", "promote": "请查看议题详情", "join": "请查看议题详情", "reopen": "网格员将重新分拣",
    "reply": "请查看回复",
}
# Fixed words of the messages, and what a field says when the text it names (a title, a place) does not fit.
MESSAGE_WORDS = {
    "received": "已受理",
    "approved": "已审定",
    "approved_next": "将安排议事会协商",
    "implemented": "已落实",
    "rate_please": "请对办理结果作出评价",
    "review_please": "请及时审定议题",
    "your_complaint": "您反映的问题",
    "your_topic": "您关注的议题",
    "your_meeting": "社区议事会",
    "new_topic": "新提交的议题",
    "see_place": "请点击查看地点",
    "see_unit": "请点击查看单位",
    "see_details": "请点击查看详情",
    "digest": "您有新的待办事项",
    "overdue": "有领办事项已逾期",
    "your_units": "您负责的网格",
}
# 说明 of a triage decision with a detail: the parts that frame it (whole words; used only when the whole fits).
MESSAGE_FRAMES = {"merge": "与第{id}号反映合并办理", "escalate": "转{unit}办理"}

# 三议: the default rule set's deliberable categories, and 四不议: its reason codes for "not deliberable".
DELIBERATION_CATEGORIES = {
    "major_affairs": "党政工作要事",
    "livelihood": "民生改善实事",
    "governance": "社会治理难事",
}
DEFAULT_REASONS = {
    "against_policy": "违反政策原则",
    "individual_dispute": "个体矛盾",
    "unfair": "有失公平",
    "serious_disagreement": "严重分歧",
}

# A photo's content check, as staff see it beside the photo (None: the check has not answered yet).
MEDIA_CHECKS = {None: "图片审核中", "pass": "", "review": "待人工审核", "risky": "图片有风险，勿外传",
                "hidden": "已隐藏（仅管理员可见）"}
# The staff review page: WeChat's verdict on a complaint's text, and why WeChat gave none.
CONTENT_CHECKS = {"review": "待人工审核", "risky": "微信判定有风险"}
UNCHECKED_REASONS = {
    "no_openid": "网页提交，微信无法审核",
    "user_inactive": "居民近期未打开小程序，微信无法审核",
    "wechat_error": "微信审核接口报错",
    "wechat_unreachable": "微信暂不可用，多次重试未果",
    "no_verdict": "微信 35 分钟内未给出结果",
}
# What a person decided on flagged text or a photo (content_check / media_check after review).
REVIEW_DECISIONS = {"approve": "通过", "hide": "隐藏"}
# The audit viewer's names for actions: the domain's own, then request-level ones (the endpoint); an unknown one is
# shown as it is.
AUDIT_ACTIONS = {
    "submit": "提交反映", "accept": "内容审核通过，进入分拣", "hold": "微信暂未审核", "decline": "不予协商",
    "solve": "网格内解决", "merge": "合并", "escalate": "上报上级", "promote": "转为议题", "visit": "上门协商",
    "close": "办结", "reopen": "重新办理", "review": "人工审核内容", "note": "居民补充", "reply": "工作人员回复",
    "reveal_phone": "查看电话", "propose": "提出议题", "approve": "审定通过", "reject": "不予审定",
    "schedule": "列入议事会", "unschedule": "移出议程", "agree": "达成共识", "disagree": "未达成共识",
    "refer": "提交居民会议", "start": "开始落实", "complete": "落实完成", "media_check_asked": "图片送微信审核",
    "media_check_review": "图片转人工审核", "media_check_decided": "人工审核图片", "block": "屏蔽提交人",
    "unblock": "解除屏蔽", "bind_wechat": "绑定微信",
    "triage.signout": "退出登录", "triage.invitations": "邀请工作人员", "triage.wechat_binding": "绑定/解绑微信",
    "triage.rules": "修改议事规则", "triage.reply": "回复居民", "triage.visit": "记录上门协商",
    "qr.rotate": "更换二维码", "qr.set_link_verification": "设置链接校验",
    "council.approve": "审定议题", "council.reject": "不予审定", "council.close": "办结议题",
    "council.resolve": "记录决议", "council.merge": "合并议题", "council.route": "记录四议表决",
    "council.assign": "指定领办", "council.progress": "记录落实进度", "council.visit_rating": "记录回访评价",
    "council.publish": "公开决策/结果", "council.progress_photo": "查看进度照片",
    "council.meeting_create": "安排议事会", "council.agenda": "调整议程", "council.invite": "邀请参会人",
    "council.cancel": "取消议事会",
    "council.reschedule": "改期议事会", "council.record": "记录议事结果",
    "intake_staff.photo": "查看反映照片", "intake_staff.thumbnail": "查看反映照片（缩略图）",
    "ops.resend": "重发通知",
    "council.legal_opinion": "签署法律意见", "council.topic_document": "上传议题精读材料",
    "council.meeting_document": "上传议事会精读材料", "admin.legal_adviser": "指定法律顾问",
    "admin.legal_major": "设置重大事项类别", "council.delete_document": "删除精读材料",
    "admin.staff_change": "修改工作人员岗位和单位", "admin.staff_password": "重置工作人员密码",
    "admin.staff_deactivate": "停用工作人员账号", "admin.staff_reactivate": "恢复工作人员账号",
    "admin.own_password": "修改自己的密码",
}
AUDIT_SUBJECTS = {"complaint": "反映", "topic": "议题", "meeting": "议事会", "photo": "照片", "unit": "单位",
                  "staff": "工作人员", "block": "屏蔽", "staff_invitation": "邀请", "notification": "通知",
                  "rule_set": "议事规则"}

# Where a "not deliberable" complaint may be referred.
REFERRALS = {
    "mediation": "人民调解",
    "hotline_12345": "12345 热线",
    "law_enforcement": "执法部门",
    "legal_adviser": "法律顾问",
}
# 五不议 (Tianxin) as a preset rule set a district can install and then edit; the seed report names the rule
# without listing its items, so these wordings are a starting point for the district to correct.
FIVE_REASONS = {
    "against_law": "违反法律法规和政策的不议",
    "privacy": "涉及个人隐私的不议",
    "private_interest": "纯属个人利益诉求的不议",
    "beyond_authority": "超出本级职权范围的不议",
    "in_legal_process": "已进入司法、信访程序的不议",
}
RULE_SET_PRESETS = {
    "three_four": ("三议四不议", DEFAULT_REASONS),
    "five_no": ("五不议", FIVE_REASONS),
}

STAFF_ROLES = {"grid_worker": "网格员", "secretary": "书记 / 召集人", "admin": "管理员", "legal_adviser": "法律顾问",
               "representative": "议政代表"}

MEETING_FORMS = {"forum": "座谈", "hearing": "听证", "home_visit": "上门"}
MEETING_STATES = {"upcoming": "待召开", "held": "已召开", "cancelled": "已取消"}
REPRESENTATIVE_KINDS = {"representative": "议政代表", "liaison": "民意联络员"}
APPOINTMENT_STATES = {"recommended": "已推荐", "reviewed": "已审查", "decided": "已决定", "announced": "公示中",
                      "appointed": "已聘任", "declined": "未通过", "withdrawn": "已退出", "ended": "任期届满"}
APPOINTMENT_ACTIONS = {"recommend": "推荐", "review": "审查", "decide": "决定", "announce": "公示", "appoint": "聘任",
                       "decline": "不予通过", "withdraw": "退出", "end_term": "任期届满"}
DUTY_LABELS = {"waiting": "候访", "receiving": "接访", "appointment": "约访", "visiting": "走访"}
HEARD_VIA_LABELS = {"visit": "走访", "appointment": "约访", "call": "电话", "reception": "候访/接访"}
ACTIVITY_KINDS = {"policy_talk": "宣讲政策", "forum": "召开座谈会", "suggestion": "收集意见建议", "visit": "走访群众",
                  "reception": "候访接访", "matter": "办好实事"}
PARTICIPANT_ROLES = {"representative": "议事代表", "party_member": "党员", "legal_adviser": "法律顾问",
                     "department": "相关部门"}
OUTCOME_RESULTS = {"consensus": "达成共识", "no_consensus": "未达成共识", "referred": "提交居民会议"}
LEAD_KINDS = {"branch": "支部", "secretary": "书记", "party_household": "党员中心户", "party_member": "骨干党员",
              "department": "部门"}
RATING_LEVELS = {"satisfied": "满意", "basic": "基本满意", "unsatisfied": "不满意"}
# Where a topic without a complaint behind it came from, and where a rejected topic's complaints go.
TOPIC_ORIGINS = {"branch": "党支部提议", "secretary": "书记提议", "representative": "议政代表提议"}
REJECT_HANDLING = {"triage": "退回网格重新分拣", "answer": "直接答复居民（不予协商）"}
# The reply a topic closes with when its residents did not all rate it within the follow-up period.
FOLLOWUP_EXPIRED = "回访期满，自动办结"
PUBLICATION_KINDS = {"decision": "决策公开", "result": "结果公开"}
LEGAL_CONCLUSIONS = {"lawful": "合法", "needs_changes": "需修改", "unlawful": "不合法"}
ROUTE_STEPS = {"propose": "党支部提议", "discuss": "两委商议", "review": "党员大会审议",
               "resolve": "居民(代表)会议决议"}

# The categories every district starts with (each district renames, adds and retires its own: models.triage).
COMPLAINT_CATEGORIES = [
    "环境污染", "安全出行", "飞线充电", "饲养宠物", "物业管理", "停车", "老旧小区改造", "设施维修", "邻里纠纷",
    "食品安全", "社会事务", "其他",
]
# The council levels the cadence and coverage figures speak of (a street may be a town, a community a village).
COUNCIL_LEVELS = {"district": "区", "street": "街道（镇）", "community": "社区（村）", "grid": "网格"}
CALENDAR_KINDS = {"off": "放假", "work": "上班"}


def error_text(code: str, params: dict | None = None) -> str:
    text = ERRORS.get(code, ERRORS["bad_request"])
    try:
        return text.format(**(params or {}))
    except (KeyError, IndexError):
        return text
