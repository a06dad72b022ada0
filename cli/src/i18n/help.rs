//! The command line's own words: what each command and option is for (shown by
//! `--help`), the placeholders of values, and the usage errors.
//!
//! Keyed by command path (`"household add"`, `""` for `gocua` itself) and the
//! argument's clap id (the field's name in args.rs); an id with the same
//! meaning everywhere (`limit`, `household`, a member's skills) is described
//! once in [`SHARED`].

use super::Lang;

/// `(command path, vi, en)`: what a command does.
const ABOUT: &[(&str, &str, &str)] = &[
    (
        "household merge",
        "Gộp một hộ bị ghi hai lần vào hộ được giữ: hộ giữ lại nhận các thành viên, lượt hỗ trợ và sự đồng ý của hộ kia, người trùng tên và năm sinh chỉ tính một lần; mã hộ kia vẫn tìm được hộ giữ lại. --undo để tách ra như cũ.",
        "Merge a household registered twice into the one to keep: it gains the other's members, visits and consents, people with the same name and birth year counted once; the other's id still finds it. --undo separates them again.",
    ),
    (
        "household in-error",
        "Đánh dấu một hộ là đăng ký nhầm (vẫn giữ lại, không còn trong danh sách và số liệu); --undo để bỏ đánh dấu.",
        "Mark a household as registered by mistake (kept, out of every list and count); --undo takes the mark back.",
    ),
    (
        "member remove",
        "Ghi một thành viên không còn trong hộ (chuyển đi, mất, ghi nhầm): vẫn giữ trong hồ sơ, không tính vào danh sách và số liệu; --undo để đưa trở lại.",
        "Take a member out of the household (moved away, died, entered by mistake): kept in the record, out of the lists and counts; --undo brings them back.",
    ),
    (
        "visit edit",
        "Sửa một lượt hỗ trợ: thời gian, thời lượng, ngày hẹn lại, ý kiến hoặc dịch vụ.",
        "Correct a visit: its date, duration, follow-up, feedback or services.",
    ),
    (
        "visit cancel",
        "Hủy một lượt hỗ trợ ghi nhầm: vẫn giữ trong lịch sử, không tính vào số liệu; --undo để khôi phục.",
        "Cancel a visit recorded by mistake: kept in the history, out of every count; --undo restores it.",
    ),
    (
        "changes refused",
        "Liệt kê các thay đổi của máy này bị máy chủ từ chối, theo từng hộ, kèm lý do.",
        "List this device's changes the server refused, per household, with its reason.",
    ),
    (
        "changes fix",
        "Chuyển một hộ có thay đổi bị từ chối sang một thôn của máy này, giữ mọi thông tin đã ghi.",
        "Move a household whose changes were refused to one of this device's villages, keeping everything recorded in it.",
    ),
    (
        "changes discard",
        "Bỏ các thay đổi bị máy chủ từ chối của một hộ: mất những gì chúng ghi (hộ máy chủ chưa từng có sẽ không còn trên máy này). Cần --confirm.",
        "Drop the changes the server refused for a household: what they recorded is lost (a household the server never had leaves this device). Needs --confirm.",
    ),
    (
        "duplicates",
        "Các cặp hộ trong cùng thôn có thể là một hộ ghi hai lần, kèm lý do và điểm.",
        "Pairs of households of one village that may be one household registered twice, with reasons and a score.",
    ),
    (
        "todo",
        "Việc cần làm: hẹn quay lại quá hạn và đến hạn, hộ chưa hỗ trợ lần nào hoặc chưa hỗ trợ trong kỳ, kèm dịch vụ nên hỗ trợ tiếp.",
        "The to-do list: follow-ups overdue and due, households never visited or not visited this period, with the services to offer next.",
    ),
    (
        "summary",
        "Tóm tắt công việc trong kỳ của bạn (hoặc của tổ): lượt hỗ trợ, hộ, người, dịch vụ theo kết quả, hẹn quay lại.",
        "A summary of your (or your team's) work this period: visits, households, people, services by outcome, follow-ups.",
    ),
    (
        "",
        "gocua: ghi hộ gia đình và lượt hỗ trợ của Tổ Công nghệ số cộng đồng, kể cả khi không có mạng.",
        "gocua: record households and support visits of the Community Digital Technology Teams, offline too.",
    ),
    (
        "init",
        "Thiết lập máy này: tình nguyện viên, tổ, xã/phường và các thôn.",
        "Set up this device: volunteer, team, commune and villages.",
    ),
    (
        "household",
        "Hộ gia đình: thêm, sửa, xem, liệt kê, tìm, nhập, tạo dữ liệu thử, xuất/nhập tài liệu.",
        "Households: add, edit, show, list, search, import, generate, export/import documents.",
    ),
    ("household add", "Thêm một hộ.", "Add a household."),
    (
        "household edit",
        "Sửa thông tin một hộ (chỉ các trường được nêu).",
        "Edit a household (only the fields given).",
    ),
    (
        "household show",
        "Xem đầy đủ một hộ: thành viên, lượt hỗ trợ, sự đồng ý.",
        "Show a household in full: members, visits, consents.",
    ),
    ("household list", "Liệt kê các hộ.", "List the households."),
    (
        "household search",
        "Tìm hộ theo tên, địa chỉ hoặc số điện thoại (gõ có dấu hay không dấu đều được).",
        "Search households by name, address or phone (with or without diacritics).",
    ),
    (
        "household import",
        "Nhập các hộ từ tệp JSON Lines do `gocua household generate` tạo.",
        "Import households from JSON Lines made by `gocua household generate`.",
    ),
    (
        "household generate",
        "Tạo hộ giả để thử (JSON Lines, ra màn hình).",
        "Write made-up households for trials as JSON Lines to stdout.",
    ),
    (
        "household export-doc",
        "Ghi tài liệu của một hộ ra tệp .automerge.",
        "Write a household's document as a standard .automerge file.",
    ),
    (
        "household import-doc",
        "Gộp tài liệu một hộ từ tệp .automerge.",
        "Merge a household document from a .automerge file.",
    ),
    ("member", "Thành viên của hộ.", "Members of a household."),
    (
        "member add",
        "Thêm một thành viên vào hộ.",
        "Add a member to a household.",
    ),
    (
        "member edit",
        "Sửa thông tin một thành viên (chỉ các trường được nêu).",
        "Edit a member (only the fields given).",
    ),
    ("visit", "Lượt hỗ trợ.", "Support visits."),
    (
        "visit record",
        "Ghi một lượt hỗ trợ: dịch vụ, kết quả, người được hỗ trợ.",
        "Record a support visit: services, outcomes, people helped.",
    ),
    (
        "visit list",
        "Liệt kê các lượt hỗ trợ, mới nhất trước.",
        "List the visits, newest first.",
    ),
    (
        "consent",
        "Sự đồng ý xử lý dữ liệu cá nhân.",
        "Consent to the processing of personal data.",
    ),
    (
        "consent record",
        "Ghi sự đồng ý của một người.",
        "Record a person's consent.",
    ),
    (
        "consent withdraw",
        "Ghi việc một người rút lại sự đồng ý.",
        "Record that a person withdrew a consent.",
    ),
    (
        "conflicts",
        "Các trường bị sửa khác nhau trên hai máy (xem, hoặc chọn giá trị giữ lại).",
        "Fields changed differently on two devices (list, or choose the value to keep).",
    ),
    (
        "conflicts resolve",
        "Giữ một giá trị cho một trường đang xung đột.",
        "Keep one value of a field in conflict.",
    ),
    (
        "status",
        "Ai, ở đâu, bao nhiêu hộ, còn gì chờ gửi.",
        "Who, where, how many, what is pending.",
    ),
    (
        "catalogue",
        "Danh mục: dịch vụ, kết quả, nhóm đối tượng, xã/phường.",
        "Catalogues: services, outcomes, target groups, communes.",
    ),
    (
        "changes",
        "Trao đổi thay đổi với máy khác qua tệp, không cần máy chủ.",
        "Exchange changes with another store through files, without a server.",
    ),
    (
        "changes export",
        "Ghi ra tệp các thay đổi máy kia còn thiếu (tất cả nếu không có --peer-heads).",
        "Write the changes the peer lacks (all without --peer-heads).",
    ),
    (
        "changes import",
        "Nhận các thay đổi từ tệp do `changes export` ghi.",
        "Apply a file written by `changes export`.",
    ),
    (
        "changes heads",
        "Ghi ra tệp trạng thái dữ liệu của máy này (cho --peer-heads của máy kia).",
        "Write what this store holds (for the peer's --peer-heads).",
    ),
    (
        "changes quarantined",
        "Liệt kê các thay đổi nhận được bị cách ly vì không áp dụng được.",
        "List received changes set aside because they could not be applied.",
    ),
    (
        "rebuild",
        "Dựng lại bảng tra cứu và tìm kiếm từ các tài liệu.",
        "Rewrite the tables used for lists and search from the documents.",
    ),
    (
        "passphrase",
        "Mật khẩu mã hoá dữ liệu trên máy này.",
        "The passphrase that encrypts the data on this device.",
    ),
    (
        "passphrase change",
        "Đổi mật khẩu: mật khẩu hiện tại như mọi lệnh (nhập, hoặc GOCUA_PASSPHRASE), mật khẩu mới nhập hai lần (hoặc GOCUA_NEW_PASSPHRASE).",
        "Change it: the current one as for every command (typed, or GOCUA_PASSPHRASE), the new one typed twice (or GOCUA_NEW_PASSPHRASE).",
    ),
    (
        "enroll",
        "Đăng ký máy này với máy chủ đồng bộ bằng mã dùng một lần do xã cấp.",
        "Enroll this device with a sync server using a one-time code from the commune.",
    ),
    (
        "sync",
        "Gửi thay đổi của máy này lên máy chủ, rồi nhận thay đổi của người khác.",
        "Send this device's changes to the server, then receive everyone else's.",
    ),
    (
        "report",
        "Các chỉ tiêu trên các hộ của máy này, không cần mạng (docs/reports.md).",
        "The indicators over this device's households, offline (docs/reports.md).",
    ),
    (
        "export",
        "Cho cán bộ tỉnh: tải chỉ tiêu (json) hoặc dữ liệu từng hộ (csv, xlsx, jsonl) của một địa bàn từ máy chủ.",
        "For a province officer: download the indicators (json) or a record-level extract (csv, xlsx, jsonl) of an area from the server.",
    ),
    (
        "demo",
        "Trình diễn toàn bộ trên dữ liệu tạm: ba máy, một thôn, một xung đột.",
        "The whole offline story on throw-away stores: three devices, one village, a clash.",
    ),
    (
        "help",
        "Xem hướng dẫn của gocua hoặc của một lệnh.",
        "Print this help or the help of the given command.",
    ),
];

/// `(command path, arg id, vi, en)`: what an argument means there.
const ARGS: &[(&str, &str, &str, &str)] = &[
    (
        "household import",
        "insist",
        "Vẫn nhập dòng đó dù thôn đã có một hộ gần như chắc chắn là hộ này (hộ đó được nêu để lưu ý); xem `gocua duplicates`, gộp bằng `gocua household merge`.",
        "Import the line even when a household of the village is near-certainly the same (it is named as a warning); see `gocua duplicates`, merge with `gocua household merge`.",
    ),
    (
        "household add",
        "insist",
        "Vẫn thêm dù thôn đã có một hộ gần như chắc chắn là hộ này (cùng chủ hộ và số điện thoại ...); xem `gocua duplicates`.",
        "Add it even when a household of the village is near-certainly the same (same head and phone ...); see `gocua duplicates`.",
    ),
    (
        "household import",
        "from_line",
        "Bắt đầu từ dòng này của tệp (tiếp tục một lần nhập bị dừng giữa chừng).",
        "Start at this line of the file (resume an import stopped half-way).",
    ),
    (
        "household merge",
        "from",
        "Mã hộ bị ghi trùng (hoặc vài ký tự cuối): sau khi gộp, mã này dẫn tới hộ được giữ.",
        "The id of the household registered twice (or its last characters): after the merge it finds the one kept.",
    ),
    (
        "household merge",
        "into",
        "Mã hộ được giữ lại.",
        "The id of the household to keep.",
    ),
    (
        "household merge",
        "undo",
        "Tách hộ đã gộp ra như cũ, với thành viên và lượt hỗ trợ của chính nó.",
        "Separate the merged household again, with its own members and visits.",
    ),
    (
        "household in-error",
        "id",
        "Mã hộ (hoặc vài ký tự cuối).",
        "The household's id (or its last characters).",
    ),
    (
        "household in-error",
        "reason",
        "Lý do (được lưu cùng việc đánh dấu).",
        "Why (kept with the mark).",
    ),
    (
        "household in-error",
        "undo",
        "Bỏ đánh dấu.",
        "Take the mark back.",
    ),
    (
        "member remove",
        "id",
        "Mã thành viên (hoặc vài ký tự cuối).",
        "The member's id (or its last characters).",
    ),
    (
        "member remove",
        "reason",
        "Lý do (chuyển đi, mất, ghi nhầm ...).",
        "Why (moved away, died, entered by mistake ...).",
    ),
    (
        "member remove",
        "undo",
        "Đưa thành viên trở lại hộ.",
        "Bring the member back into the household.",
    ),
    (
        "visit edit",
        "visit",
        "Mã lượt hỗ trợ (hoặc vài ký tự cuối).",
        "The visit's id (or its last characters).",
    ),
    (
        "visit edit",
        "at",
        "Thời gian mới: \"YYYY-MM-DD HH:MM\" (giờ Việt Nam) hoặc RFC 3339.",
        "The new time: \"YYYY-MM-DD HH:MM\" (Vietnam time) or RFC 3339.",
    ),
    (
        "visit edit",
        "entered_late",
        "Thời gian mới là của một lượt ghi bù (xem visit record).",
        "The new time is that of a visit entered late (see visit record).",
    ),
    (
        "visit edit",
        "duration",
        "Thời lượng (phút).",
        "Duration (minutes).",
    ),
    (
        "visit edit",
        "follow_up",
        "Ngày hẹn quay lại YYYY-MM-DD, hoặc \"\" để xóa.",
        "Follow-up day YYYY-MM-DD, or \"\" to clear it.",
    ),
    (
        "visit edit",
        "feedback",
        "Ý kiến của hộ, hoặc \"\" để xóa.",
        "The household's feedback, or \"\" to clear it.",
    ),
    (
        "visit edit",
        "services",
        "MÃ[:KẾT_QUẢ[:GHI_CHÚ]]: thêm một dịch vụ hoặc sửa kết quả của nó.",
        "CODE[:OUTCOME[:NOTE]]: a service added, or its outcome corrected.",
    ),
    (
        "visit edit",
        "remove_services",
        "MÃ: bỏ một dịch vụ ghi nhầm khỏi lượt hỗ trợ.",
        "CODE: a service taken out of the visit.",
    ),
    (
        "visit cancel",
        "id",
        "Mã lượt hỗ trợ (hoặc vài ký tự cuối).",
        "The visit's id (or its last characters).",
    ),
    (
        "visit cancel",
        "reason",
        "Lý do hủy (được lưu cùng việc hủy).",
        "Why it is cancelled (kept with it).",
    ),
    (
        "visit cancel",
        "undo",
        "Khôi phục lượt hỗ trợ.",
        "Restore the visit.",
    ),
    (
        "catalogue",
        "load_suggestions",
        "Thay các quy tắc gợi ý dịch vụ bằng quy tắc của tỉnh: tệp JSON (danh sách quy tắc, hoặc đối tượng có \"suggestions\"); kiểm tra trước, có quy tắc sai thì không đổi gì.",
        "Replace the rules of the services to offer next with a province's own: a JSON file (a list of rules, or an object with \"suggestions\"); checked first, nothing changes if one is bad.",
    ),
    (
        "changes fix",
        "household",
        "Mã hộ (hoặc vài ký tự cuối).",
        "The household's id (or its last characters).",
    ),
    (
        "changes fix",
        "village",
        "Một thôn của máy này (tên hoặc mã).",
        "One of this device's villages (name or id).",
    ),
    (
        "changes discard",
        "household",
        "Mã hộ (hoặc vài ký tự cuối).",
        "The household's id (or its last characters).",
    ),
    (
        "changes discard",
        "confirm",
        "Đồng ý bỏ các thay đổi đó.",
        "Yes, drop them.",
    ),
    (
        "duplicates",
        "village",
        "Chỉ một thôn (tên hoặc mã).",
        "Only one village (name or id).",
    ),
    (
        "todo",
        "village",
        "Chỉ một thôn (tên hoặc mã).",
        "Only one village (name or id).",
    ),
    (
        "todo",
        "group",
        "Chỉ các hộ thuộc nhóm đối tượng này (mã trong `gocua catalogue groups`).",
        "Only the households of this target group (a code of `gocua catalogue groups`).",
    ),
    (
        "todo",
        "mine",
        "Chỉ hẹn quay lại của các lượt bạn ghi hoặc tham gia, và các hộ bạn hỗ trợ lần cuối.",
        "Only follow-ups of visits you recorded or were on, and households you visited last.",
    ),
    (
        "todo",
        "today",
        "Ngày xem, YYYY-MM-DD (mặc định: hôm nay, giờ Việt Nam).",
        "The day, YYYY-MM-DD (default: today in Vietnam).",
    ),
    (
        "todo",
        "periods_start_day",
        "Ngày bắt đầu kỳ: 1 là theo tháng, 15 là từ ngày 15 đến ngày 14.",
        "The day periods start on: 1 for calendar months, 15 for the 15th to the 14th.",
    ),
    (
        "summary",
        "mine",
        "Công việc của bạn (mặc định).",
        "Your own work (the default).",
    ),
    (
        "summary",
        "team",
        "Công việc của cả tổ.",
        "The whole team's work.",
    ),
    (
        "summary",
        "period",
        "Kỳ báo cáo YYYY-MM (mặc định: kỳ hiện tại).",
        "The period, YYYY-MM (default: the current one).",
    ),
    (
        "summary",
        "periods_start_day",
        "Ngày bắt đầu kỳ: 1 là theo tháng, 15 là từ ngày 15 đến ngày 14.",
        "The day periods start on: 1 for calendar months, 15 for the 15th to the 14th.",
    ),
    (
        "summary",
        "today",
        "Ngày xem, YYYY-MM-DD (mặc định: hôm nay, giờ Việt Nam).",
        "The day, YYYY-MM-DD (default: today in Vietnam).",
    ),
    // gocua init
    (
        "init",
        "volunteer",
        "Họ tên tình nguyện viên dùng máy này.",
        "The name of the volunteer using this device.",
    ),
    (
        "init",
        "phone",
        "Số điện thoại của tình nguyện viên.",
        "The volunteer's phone number.",
    ),
    (
        "init",
        "team",
        "Tên tổ Công nghệ số cộng đồng.",
        "The name of the Community Digital Technology Team.",
    ),
    (
        "init",
        "commune",
        "Mã xã/phường (5 chữ số, danh mục có hiệu lực từ 01/07/2025); tìm mã theo tên bằng `gocua catalogue communes TÊN`.",
        "The commune code (5 digits, units in force since 1 July 2025); find it by name with `gocua catalogue communes NAME`.",
    ),
    (
        "init",
        "villages",
        "Một thôn/tổ dân phố máy này phụ trách (nêu nhiều lần cho nhiều thôn).",
        "A village this device serves (repeat for several).",
    ),
    // gocua household add / edit
    (
        "household add",
        "village",
        "Thôn của hộ (tên, có dấu hay không dấu đều được); bỏ qua nếu máy chỉ có một thôn.",
        "The household's village (its name, with or without diacritics); may be left out when the device has one village.",
    ),
    (
        "household add",
        "head",
        "Họ tên chủ hộ.",
        "The household head's name.",
    ),
    (
        "household add",
        "address",
        "Địa chỉ (xóm, số nhà).",
        "The address (hamlet, house number).",
    ),
    (
        "household add",
        "phone",
        "Số điện thoại của hộ.",
        "The household's phone number.",
    ),
    (
        "household add",
        "members",
        "Số nhân khẩu khai báo của hộ.",
        "The declared number of members.",
    ),
    (
        "household add",
        "devices",
        "Điện thoại của hộ: thông minh, 2G hoặc không có.",
        "The household's phones: smartphone, feature_phone_only or none.",
    ),
    (
        "household add",
        "groups",
        "Một nhóm đối tượng (mã, xem `gocua catalogue groups`); nêu nhiều lần cho nhiều nhóm.",
        "A target group (its code, see `gocua catalogue groups`); repeat for several.",
    ),
    (
        "household edit",
        "id",
        "Mã hộ (vài ký tự cuối là đủ).",
        "The household's id (its last few characters are enough).",
    ),
    (
        "household edit",
        "village",
        "Thôn mới của hộ.",
        "The household's new village.",
    ),
    (
        "household edit",
        "head",
        "Họ tên chủ hộ.",
        "The household head's name.",
    ),
    (
        "household edit",
        "address",
        "Địa chỉ (xóm, số nhà).",
        "The address (hamlet, house number).",
    ),
    (
        "household edit",
        "phone",
        "Số điện thoại của hộ (\"\" để xóa).",
        "The household's phone number (\"\" to clear).",
    ),
    (
        "household edit",
        "members",
        "Số nhân khẩu khai báo của hộ.",
        "The declared number of members.",
    ),
    (
        "household edit",
        "devices",
        "Điện thoại của hộ: thông minh, 2G hoặc không có; \"\" để xóa.",
        "The household's phones: smartphone, feature_phone_only, none, or \"\" to clear.",
    ),
    (
        "household edit",
        "add_groups",
        "Thêm một nhóm đối tượng (mã); nêu nhiều lần cho nhiều nhóm.",
        "Add a target group (its code); repeat for several.",
    ),
    (
        "household edit",
        "remove_groups",
        "Bỏ một nhóm đối tượng (mã); nêu nhiều lần cho nhiều nhóm.",
        "Remove a target group (its code); repeat for several.",
    ),
    (
        "household show",
        "id",
        "Mã hộ (vài ký tự cuối là đủ).",
        "The household's id (its last few characters are enough).",
    ),
    (
        "household list",
        "village",
        "Chỉ các hộ của thôn này.",
        "Only the households of this village.",
    ),
    (
        "household search",
        "query",
        "Từ cần tìm: tên, địa chỉ, số điện thoại.",
        "What to look for: a name, an address, a phone number.",
    ),
    (
        "household import",
        "file",
        "Tệp JSON Lines cần nhập.",
        "The JSON Lines file to import.",
    ),
    (
        "household generate",
        "seed",
        "Hạt giống ngẫu nhiên (cùng hạt giống, cùng dữ liệu).",
        "The random seed (same seed, same data).",
    ),
    (
        "household generate",
        "households",
        "Số hộ cần tạo.",
        "How many households to make.",
    ),
    (
        "household generate",
        "villages",
        "Một thôn cho các hộ tạo ra; nêu nhiều lần cho nhiều thôn.",
        "A village for the households made; repeat for several.",
    ),
    (
        "household export-doc",
        "id",
        "Mã hộ (vài ký tự cuối là đủ).",
        "The household's id (its last few characters are enough).",
    ),
    (
        "household export-doc",
        "out",
        "Tệp .automerge cần ghi.",
        "The .automerge file to write.",
    ),
    (
        "household import-doc",
        "file",
        "Tệp .automerge cần gộp.",
        "The .automerge file to merge.",
    ),
    // gocua member
    (
        "member add",
        "household",
        "Mã hộ (vài ký tự cuối là đủ).",
        "The household's id (its last few characters are enough).",
    ),
    (
        "member add",
        "name",
        "Họ tên thành viên.",
        "The member's name.",
    ),
    (
        "member edit",
        "member",
        "Mã thành viên (vài ký tự cuối là đủ).",
        "The member's id (its last few characters are enough).",
    ),
    (
        "member edit",
        "name",
        "Họ tên thành viên.",
        "The member's name.",
    ),
    // gocua visit
    (
        "visit record",
        "household",
        "Mã hộ (vài ký tự cuối là đủ).",
        "The household's id (its last few characters are enough).",
    ),
    (
        "visit record",
        "services",
        "Dịch vụ đã hỗ trợ: MÃ[:KẾT_QUẢ[:GHI_CHÚ]] (kết quả mặc định: `done`, hoàn thành; mã xem `gocua catalogue`); nêu nhiều lần cho nhiều dịch vụ.",
        "A service supported: CODE[:OUTCOME[:NOTE]] (outcome default: done; see `gocua catalogue`); repeat for several.",
    ),
    (
        "visit record",
        "persons",
        "Mã thành viên được hỗ trợ; nêu nhiều lần cho nhiều người.",
        "The id of a member helped; repeat for several.",
    ),
    (
        "visit record",
        "at",
        "Thời gian hỗ trợ, \"YYYY-MM-DD HH:MM\" (giờ Việt Nam); mặc định: bây giờ.",
        "When, \"YYYY-MM-DD HH:MM\" (Vietnam time) or RFC 3339; default now.",
    ),
    (
        "visit record",
        "duration",
        "Thời lượng, tính bằng phút.",
        "How long it took, in minutes.",
    ),
    (
        "visit record",
        "follow_up",
        "Ngày hẹn quay lại, YYYY-MM-DD.",
        "The follow-up day, YYYY-MM-DD.",
    ),
    (
        "visit record",
        "feedback",
        "Ý kiến của người dân cần báo lên.",
        "The residents' feedback to pass upward.",
    ),
    (
        "visit record",
        "consent",
        "Mã bản ghi đồng ý của lượt hỗ trợ.",
        "The id of the consent the visit relies on.",
    ),
    (
        "visit record",
        "with",
        "Mã tình nguyện viên cùng đi; nêu nhiều lần cho nhiều người.",
        "The id of a volunteer who came along; repeat for several.",
    ),
    (
        "visit record",
        "entered_late",
        "Ghi bù: lượt hỗ trợ đã làm từ trước (trước ngày đăng ký hộ hoặc quá một năm).",
        "Entered late: a visit made earlier (before the household's registration or more than a year ago).",
    ),
    (
        "visit list",
        "household",
        "Chỉ các lượt hỗ trợ của hộ này (mã hộ).",
        "Only the visits of this household (its id).",
    ),
    // gocua consent
    (
        "consent record",
        "household",
        "Mã hộ (vài ký tự cuối là đủ).",
        "The household's id (its last few characters are enough).",
    ),
    (
        "consent record",
        "person",
        "Mã thành viên đồng ý.",
        "The id of the member who consents.",
    ),
    (
        "consent record",
        "purpose",
        "Mục đích được đồng ý (ví dụ \"Hỗ trợ VNeID\").",
        "What the consent is for (e.g. \"VNeID support\").",
    ),
    (
        "consent record",
        "method",
        "Hình thức: bằng lời, văn bản hoặc ứng dụng.",
        "How it was given: verbal, written or app.",
    ),
    (
        "consent record",
        "at",
        "Thời điểm đồng ý, \"YYYY-MM-DD HH:MM\"; mặc định: bây giờ.",
        "When it was given, \"YYYY-MM-DD HH:MM\"; default now.",
    ),
    (
        "consent withdraw",
        "consent",
        "Mã bản ghi đồng ý.",
        "The consent's id.",
    ),
    (
        "consent withdraw",
        "reason",
        "Lý do rút lại.",
        "Why it was withdrawn.",
    ),
    // gocua conflicts resolve
    (
        "conflicts resolve",
        "household",
        "Mã hộ (vài ký tự cuối là đủ).",
        "The household's id (its last few characters are enough).",
    ),
    (
        "conflicts resolve",
        "path",
        "Trường đang xung đột, như `gocua conflicts` hiện ra.",
        "The field in conflict, as `gocua conflicts` shows it.",
    ),
    (
        "conflicts resolve",
        "value",
        "Giá trị cần giữ (một trong các giá trị đang xung đột).",
        "The value to keep (one of the conflicting values).",
    ),
    // gocua catalogue
    (
        "catalogue",
        "kind",
        "Danh mục cần xem: `services` (dịch vụ), `outcomes` (kết quả), `groups` (nhóm đối tượng), `communes` (xã/phường); mặc định: ba danh mục đầu.",
        "Which catalogue: services, outcomes, groups or communes; default: the first three.",
    ),
    (
        "catalogue",
        "query",
        "Với communes: tên xã/phường cần tìm (có dấu hay không dấu đều được).",
        "With communes: the commune name to look for (with or without diacritics).",
    ),
    // gocua changes
    (
        "changes export",
        "out",
        "Tệp cần ghi.",
        "The file to write.",
    ),
    (
        "changes export",
        "peer_heads",
        "Tệp trạng thái của máy kia (do `changes heads` ghi): chỉ ghi những gì máy kia còn thiếu.",
        "The peer's state file (written by `changes heads`): write only what the peer lacks.",
    ),
    (
        "changes import",
        "file",
        "Tệp thay đổi cần nhận.",
        "The change file to apply.",
    ),
    ("changes heads", "out", "Tệp cần ghi.", "The file to write."),
    // gocua enroll
    (
        "enroll",
        "server",
        "Địa chỉ máy chủ, bắt đầu bằng http:// hoặc https://, ví dụ http://192.0.2.10:8080.",
        "The server's address, starting with http:// or https://, e.g. http://192.0.2.10:8080.",
    ),
    (
        "enroll",
        "code",
        "Mã đăng ký dùng một lần (ví dụ K7M2-9QXD).",
        "The one-time enrollment code (e.g. K7M2-9QXD).",
    ),
    (
        "enroll",
        "device_name",
        "Tên máy này trong danh sách thiết bị của máy chủ (mặc định: tên lần đăng ký trước, hoặc tên máy).",
        "A name for this device in the server's device list (default: the previous enrollment's, or the host name).",
    ),
    (
        "enroll",
        "again",
        "Đăng ký lại một máy đã đăng ký (ví dụ sau khi bị thu hồi): máy nhận một mã thiết bị mới.",
        "Enroll a device that is enrolled already (e.g. after it was revoked): it gets a new device id.",
    ),
    // gocua report
    (
        "report",
        "period",
        "Kỳ báo cáo, YYYY-MM, mang tên tháng nó kết thúc (mặc định: kỳ của hôm nay).",
        "The reporting period, YYYY-MM, named after the month it ends in (default: today's).",
    ),
    (
        "report",
        "periods_start_day",
        "Ngày bắt đầu kỳ: 1 cho tháng dương lịch, 15 cho từ ngày 15 đến ngày 14.",
        "The day periods start on: 1 for calendar months, 15 for the 15th to the 14th.",
    ),
    (
        "report",
        "level",
        "Cấp: `team` (tổ), `village` (thôn), `commune` (xã), `province` (tỉnh) hoặc `national` (toàn quốc).",
        "The level: team, village, commune, province or national.",
    ),
    (
        "report",
        "format",
        "`table` (bảng) hoặc `json` (như --json).",
        "table or json (json is what --json gives).",
    ),
    (
        "report",
        "today",
        "Ngày lập báo cáo, YYYY-MM-DD, để tính lịch hẹn đến hạn và quá hạn (mặc định: hôm nay).",
        "The day the report is made, YYYY-MM-DD, for follow-ups due and overdue (default: today).",
    ),
    // gocua export
    (
        "export",
        "server",
        "Địa chỉ máy chủ, ví dụ https://gocua.example.vn.",
        "The server's address, e.g. https://gocua.example.vn.",
    ),
    (
        "export",
        "token",
        "Mã truy cập của tài khoản cán bộ (do người quản trị máy chủ cấp).",
        "The officer account's token (given by the server's operator).",
    ),
    (
        "export",
        "area",
        "Mã tỉnh hoặc xã/phường (danh mục 2025), hoặc mã thôn.",
        "A province or commune code (2025 list) or a village id.",
    ),
    (
        "export",
        "format",
        "`json` (chỉ tiêu), `csv` (nén zip), `xlsx` hoặc `jsonl` (dữ liệu từng hộ).",
        "json (the indicators), csv (zipped), xlsx or jsonl (record-level).",
    ),
    (
        "export",
        "pii",
        "Dữ liệu cá nhân: `pseudonymized` (bí danh; `full` chỉ trên máy chủ); `none` cho chỉ tiêu dạng bảng tính (với --format `csv` hoặc `xlsx`).",
        "Personal data of a record-level extract: pseudonymized (full only on the server machine); none gives the indicators as a spreadsheet (with --format csv or xlsx).",
    ),
    (
        "export",
        "period",
        "Kỳ của chỉ tiêu, YYYY-MM (mặc định: kỳ của hôm nay).",
        "The indicators' period, YYYY-MM (default: today's).",
    ),
    (
        "export",
        "level",
        "Cấp của chỉ tiêu: `team` (tổ), `village` (thôn), `commune` (xã, mặc định), `province` (tỉnh) hoặc `national` (toàn quốc).",
        "The indicators' level: team, village, commune (the default), province or national.",
    ),
    (
        "export",
        "today",
        "Ngày lập chỉ tiêu, YYYY-MM-DD (mặc định: hôm nay).",
        "The day the indicators are made, YYYY-MM-DD (default: today).",
    ),
    (
        "export",
        "since",
        "Chỉ các hộ thay đổi sau mốc này (mốc do lần tải trước báo).",
        "Only the households changed after this cursor (an earlier extract's).",
    ),
    (
        "export",
        "out",
        "Tệp cần ghi (không bao giờ ghi dở).",
        "The file to write (never left half-written).",
    ),
    // gocua demo
    (
        "demo",
        "keep",
        "Giữ dữ liệu và tệp thay đổi của các máy trong thư mục này.",
        "Keep the devices' stores and change files in this directory.",
    ),
    (
        "demo",
        "server_bin",
        "Chương trình gocua-server cần chạy (mặc định: cái cạnh gocua, rồi cái đầu tiên trên PATH).",
        "The gocua-server program to run (default: the one next to gocua, then the first on PATH).",
    ),
    // gocua help
    (
        "help",
        "subcommand",
        "Lệnh cần xem hướng dẫn.",
        "The command to show the help of.",
    ),
];

/// `(arg id, vi, en)`: arguments meaning the same in every command.
const SHARED: &[(&str, &str, &str)] = &[
    (
        "data_dir",
        "Thư mục dữ liệu (tệp dữ liệu là <THƯ_MỤC>/store.sqlite).",
        "Data directory (the store is <DIR>/store.sqlite).",
    ),
    (
        "json",
        "Kết quả cho máy đọc: mỗi lệnh in một giá trị JSON; lỗi cũng là JSON, trên luồng lỗi.",
        "Machine-readable output: one JSON value per command on stdout; errors as JSON on stderr.",
    ),
    (
        "lang",
        "Ngôn ngữ: vi (mặc định) hoặc en (cũng là mặc định khi LANG bắt đầu bằng \"en\").",
        "Language: vi (the default) or en (also the default when LANG starts with \"en\").",
    ),
    ("help", "Xem hướng dẫn.", "Print help."),
    ("version", "Xem phiên bản.", "Print the version."),
    (
        "limit",
        "Hiện nhiều nhất bấy nhiêu dòng.",
        "Show at most this many rows.",
    ),
    ("birth_year", "Năm sinh.", "The year of birth."),
    (
        "gender",
        "Giới tính: nam, nữ hoặc khác.",
        "Gender: male, female or other.",
    ),
    (
        "id_number",
        "Số định danh cá nhân 12 chữ số.",
        "The 12-digit personal identification number.",
    ),
    (
        "vneid",
        "Tài khoản VNeID: chưa có, đã đăng ký, mức 1 hoặc mức 2.",
        "The VNeID account: none, registered, level1 or level2.",
    ),
    (
        "vneid_activated",
        "VNeID đã kích hoạt: có hoặc không.",
        "VNeID activated: yes or no.",
    ),
    (
        "bank_account",
        "Có tài khoản ngân hàng hoặc ví điện tử: có hoặc không.",
        "Has a bank or e-wallet account: yes or no.",
    ),
    (
        "public_service_account",
        "Có tài khoản dịch vụ công: có hoặc không.",
        "Has a public-service account: yes or no.",
    ),
    (
        "ehealth_book",
        "Có sổ sức khỏe điện tử: có hoặc không.",
        "Has an electronic health book: yes or no.",
    ),
    (
        "digital_signature",
        "Có chữ ký số: có hoặc không.",
        "Has a digital signature: yes or no.",
    ),
    (
        "basic_skills",
        "Đã được chứng nhận kỹ năng số cơ bản trên VNeID: có hoặc không.",
        "Basic digital skills certified on VNeID: yes or no.",
    ),
];

/// `(arg id, vi, en)`: the placeholder of an argument's value in usage lines.
const VALUE_NAMES: &[(&str, &str, &str)] = &[
    ("data_dir", "THƯ_MỤC", "DIR"),
    ("lang", "NGÔN_NGỮ", "LANG"),
    ("volunteer", "HỌ_TÊN", "NAME"),
    ("phone", "SỐ_ĐIỆN_THOẠI", "PHONE"),
    ("team", "TÊN_TỔ", "TEAM"),
    ("commune", "MÃ_XÃ", "COMMUNE"),
    ("villages", "THÔN", "VILLAGE"),
    ("village", "THÔN", "VILLAGE"),
    ("head", "HỌ_TÊN", "NAME"),
    ("address", "ĐỊA_CHỈ", "ADDRESS"),
    ("members", "SỐ", "NUMBER"),
    ("devices", "ĐIỆN_THOẠI", "DEVICES"),
    ("groups", "NHÓM", "GROUP"),
    ("add_groups", "NHÓM", "GROUP"),
    ("remove_groups", "NHÓM", "GROUP"),
    ("id", "MÃ", "ID"),
    ("household", "MÃ_HỘ", "HOUSEHOLD"),
    ("from", "MÃ_HỘ_TRÙNG", "DUPLICATE"),
    ("into", "MÃ_HỘ_GIỮ", "KEPT"),
    ("limit", "SỐ", "NUMBER"),
    ("query", "TỪ_KHÓA", "WORDS"),
    ("file", "TỆP", "FILE"),
    ("out", "TỆP", "FILE"),
    ("peer_heads", "TỆP", "FILE"),
    ("seed", "SỐ", "NUMBER"),
    ("households", "SỐ", "NUMBER"),
    ("name", "HỌ_TÊN", "NAME"),
    ("member", "MÃ_THÀNH_VIÊN", "MEMBER"),
    ("birth_year", "NĂM", "YEAR"),
    ("gender", "GIỚI_TÍNH", "GENDER"),
    ("id_number", "SỐ_ĐỊNH_DANH", "ID_NUMBER"),
    ("vneid", "MỨC", "LEVEL"),
    ("vneid_activated", "có|không", "yes|no"),
    ("bank_account", "có|không", "yes|no"),
    ("public_service_account", "có|không", "yes|no"),
    ("ehealth_book", "có|không", "yes|no"),
    ("digital_signature", "có|không", "yes|no"),
    ("basic_skills", "có|không", "yes|no"),
    ("services", "DỊCH_VỤ", "SERVICE"),
    ("persons", "MÃ_THÀNH_VIÊN", "MEMBER"),
    ("person", "MÃ_THÀNH_VIÊN", "MEMBER"),
    ("at", "THỜI_GIAN", "TIME"),
    ("duration", "PHÚT", "MINUTES"),
    ("follow_up", "NGÀY", "DAY"),
    ("feedback", "Ý_KIẾN", "TEXT"),
    ("consent", "MÃ_ĐỒNG_Ý", "CONSENT"),
    ("visit", "MÃ_LƯỢT", "VISIT"),
    ("from_line", "SỐ_DÒNG", "LINE"),
    ("group", "NHÓM", "GROUP"),
    ("load_suggestions", "TỆP", "FILE"),
    ("remove_services", "MÃ_DỊCH_VỤ", "SERVICE"),
    ("with", "MÃ_TÌNH_NGUYỆN_VIÊN", "VOLUNTEER"),
    ("purpose", "MỤC_ĐÍCH", "PURPOSE"),
    ("method", "HÌNH_THỨC", "METHOD"),
    ("reason", "LÝ_DO", "REASON"),
    ("path", "TRƯỜNG", "FIELD"),
    ("value", "GIÁ_TRỊ", "VALUE"),
    ("kind", "DANH_MỤC", "CATALOGUE"),
    ("server", "ĐỊA_CHỈ", "URL"),
    ("code", "MÃ", "CODE"),
    ("device_name", "TÊN_MÁY", "NAME"),
    ("period", "KỲ", "PERIOD"),
    ("periods_start_day", "NGÀY", "DAY"),
    ("level", "CẤP", "LEVEL"),
    ("format", "ĐỊNH_DẠNG", "FORMAT"),
    ("today", "NGÀY", "DAY"),
    ("token", "MÃ_TRUY_CẬP", "TOKEN"),
    ("area", "ĐỊA_BÀN", "AREA"),
    ("pii", "MỨC", "LEVEL"),
    ("since", "MỐC", "CURSOR"),
    ("keep", "THƯ_MỤC", "DIR"),
    ("server_bin", "TỆP", "FILE"),
    ("subcommand", "LỆNH", "COMMAND"),
];

/// What the command at `path` does.
pub fn about(lang: Lang, path: &str) -> Option<&'static str> {
    ABOUT
        .iter()
        .find(|(p, _, _)| *p == path)
        .map(|(_, vi, en)| lang.pick(vi, en))
}

/// What argument `id` of the command at `path` means.
pub fn arg(lang: Lang, path: &str, id: &str) -> Option<&'static str> {
    ARGS.iter()
        .find(|(p, i, _, _)| *p == path && *i == id)
        .map(|(_, _, vi, en)| lang.pick(vi, en))
        .or_else(|| {
            SHARED
                .iter()
                .find(|(i, _, _)| *i == id)
                .map(|(_, vi, en)| lang.pick(vi, en))
        })
}

/// The placeholder of argument `id`'s value.
pub fn value_name(lang: Lang, id: &str) -> Option<&'static str> {
    VALUE_NAMES
        .iter()
        .find(|(i, _, _)| *i == id)
        .map(|(_, vi, en)| lang.pick(vi, en))
}

/// Every text of the tables, `(what, vi, en)`, for the tests.
pub fn all() -> Vec<(String, &'static str, &'static str)> {
    let mut out: Vec<(String, &'static str, &'static str)> = ABOUT
        .iter()
        .map(|(p, vi, en)| (format!("about {p:?}"), *vi, *en))
        .collect();
    out.extend(
        ARGS.iter()
            .map(|(p, i, vi, en)| (format!("{p:?} {i}"), *vi, *en)),
    );
    out.extend(
        SHARED
            .iter()
            .map(|(i, vi, en)| (format!("* {i}"), *vi, *en)),
    );
    out
}

/// Clap's own words in its help and usage texts, and what Vietnamese says
/// instead. Clap writes them in English whatever the command's texts.
const CLAP_WORDS: &[(&str, &str)] = &[
    ("Usage:", "Cách dùng:"),
    ("Commands:", "Lệnh:"),
    ("Arguments:", "Tham số:"),
    ("Options:", "Tùy chọn:"),
    ("[OPTIONS]", "[TÙY_CHỌN]"),
    ("[COMMAND]", "[LỆNH]"),
    ("<COMMAND>", "<LỆNH>"),
    ("[default: ", "[mặc định: "),
    ("[possible values: ", "[giá trị: "),
    ("[env: ", "[biến môi trường: "),
    ("[aliases: ", "[tên khác: "),
    ("[alias: ", "[tên khác: "),
    ("(see more with '--help')", "(xem thêm bằng --help)"),
    ("(see a summary with '-h')", "(xem tóm tắt bằng -h)"),
];

/// A help or usage text clap rendered, in the language.
pub fn clap_text(lang: Lang, text: &str) -> String {
    match lang {
        Lang::En => text.to_string(),
        Lang::Vi => CLAP_WORDS
            .iter()
            .fold(text.to_string(), |t, (en, vi)| t.replace(en, vi)),
    }
}

/// What went wrong on the command line, as clap found it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Usage {
    /// An option the command does not have; maybe the one meant.
    UnknownArgument {
        arg: String,
        command: String,
        suggestion: Option<String>,
    },
    /// A command that does not exist; maybe the one meant, and the ones that do.
    UnknownCommand {
        name: String,
        command: String,
        suggestion: Option<String>,
        commands: Vec<String>,
    },
    /// Required arguments left out, with what each means.
    Missing {
        command: String,
        args: Vec<(String, Option<&'static str>)>,
    },
    /// A command of commands run without one of them.
    MissingCommand {
        command: String,
        commands: Vec<String>,
    },
    /// A value outside a fixed list.
    NotAllowed {
        arg: String,
        value: String,
        allowed: Vec<String>,
    },
    /// A value that does not read as the argument's kind; `meaning` describes it.
    BadValue {
        arg: String,
        value: String,
        meaning: Option<&'static str>,
    },
    /// An option given without its value.
    NoValue {
        arg: String,
        meaning: Option<&'static str>,
    },
    /// An argument given with another it excludes.
    Conflict { arg: String, other: String },
    /// An option given a value it does not take, too many values, or one too few.
    WrongValues { arg: String },
    /// Anything else clap refused.
    Other { command: String },
}

impl Usage {
    /// A stable name for scripts (`--json`'s `kind`).
    pub fn kind(&self) -> &'static str {
        match self {
            Usage::UnknownArgument { .. } => "unknown_argument",
            Usage::UnknownCommand { .. } => "unknown_command",
            Usage::Missing { .. } => "missing_argument",
            Usage::MissingCommand { .. } => "missing_command",
            Usage::NotAllowed { .. } => "value_not_allowed",
            Usage::BadValue { .. } => "invalid_value",
            Usage::NoValue { .. } => "missing_value",
            Usage::Conflict { .. } => "argument_conflict",
            Usage::WrongValues { .. } => "wrong_number_of_values",
            Usage::Other { .. } => "usage",
        }
    }

    /// The argument at fault, as typed, when there is one.
    pub fn field(&self) -> Option<&str> {
        match self {
            Usage::UnknownArgument { arg, .. }
            | Usage::NotAllowed { arg, .. }
            | Usage::BadValue { arg, .. }
            | Usage::NoValue { arg, .. }
            | Usage::Conflict { arg, .. }
            | Usage::WrongValues { arg } => Some(arg),
            Usage::Missing { args, .. } => args.first().map(|(a, _)| a.as_str()),
            _ => None,
        }
    }
}

/// Names to type (commands, values), each in backticks.
fn quoted_list(items: &[String]) -> String {
    items
        .iter()
        .map(|i| format!("`{i}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A usage error: what was wrong and what to do.
pub fn usage(lang: Lang, u: &Usage) -> String {
    match (lang, u) {
        (
            Lang::Vi,
            Usage::UnknownArgument {
                arg,
                command,
                suggestion,
            },
        ) => {
            let hint = suggestion
                .as_ref()
                .map(|s| format!(" Có phải ý bạn là {s}?"))
                .unwrap_or_default();
            format!(
                "lệnh `{command}` không có tùy chọn {arg}.{hint} Xem các tùy chọn: `{command} --help`."
            )
        }
        (
            Lang::En,
            Usage::UnknownArgument {
                arg,
                command,
                suggestion,
            },
        ) => {
            let hint = suggestion
                .as_ref()
                .map(|s| format!(" Did you mean {s}?"))
                .unwrap_or_default();
            format!("`{command}` has no option {arg}.{hint} See its options: `{command} --help`.")
        }
        (
            Lang::Vi,
            Usage::UnknownCommand {
                name,
                command,
                suggestion,
                commands,
            },
        ) => {
            let hint = suggestion
                .as_ref()
                .map(|s| format!(" Có phải ý bạn là `{command} {s}`?"))
                .unwrap_or_default();
            format!(
                "không có lệnh \"{name}\".{hint} Các lệnh: {}. Xem `{command} --help`.",
                quoted_list(commands)
            )
        }
        (
            Lang::En,
            Usage::UnknownCommand {
                name,
                command,
                suggestion,
                commands,
            },
        ) => {
            let hint = suggestion
                .as_ref()
                .map(|s| format!(" Did you mean `{command} {s}`?"))
                .unwrap_or_default();
            format!(
                "there is no command \"{name}\".{hint} Commands: {}. See `{command} --help`.",
                quoted_list(commands)
            )
        }
        (_, Usage::Missing { command, args }) => {
            let each: Vec<String> = args
                .iter()
                .map(|(a, meaning)| match meaning {
                    Some(m) => format!("{a} ({})", m.trim_end_matches('.')),
                    None => a.clone(),
                })
                .collect();
            match lang {
                Lang::Vi => format!(
                    "lệnh `{command}` còn thiếu: {}. Xem `{command} --help`.",
                    each.join("; ")
                ),
                Lang::En => format!(
                    "`{command}` needs: {}. See `{command} --help`.",
                    each.join("; ")
                ),
            }
        }
        (Lang::Vi, Usage::MissingCommand { command, commands }) => format!(
            "lệnh `{command}` cần thêm một lệnh con: {}. Xem `{command} --help`.",
            quoted_list(commands)
        ),
        (Lang::En, Usage::MissingCommand { command, commands }) => format!(
            "`{command}` needs one of its commands: {}. See `{command} --help`.",
            quoted_list(commands)
        ),
        (
            Lang::Vi,
            Usage::NotAllowed {
                arg,
                value,
                allowed,
            },
        ) => format!(
            "{arg} không nhận \"{value}\": chọn một trong {}.",
            quoted_list(allowed)
        ),
        (
            Lang::En,
            Usage::NotAllowed {
                arg,
                value,
                allowed,
            },
        ) => format!(
            "{arg} does not take \"{value}\": choose one of {}.",
            quoted_list(allowed)
        ),
        (
            Lang::Vi,
            Usage::BadValue {
                arg,
                value,
                meaning,
            },
        ) => match meaning {
            Some(m) => format!("{arg} không nhận \"{value}\". {arg}: {m}"),
            None => format!("{arg} không nhận \"{value}\"."),
        },
        (
            Lang::En,
            Usage::BadValue {
                arg,
                value,
                meaning,
            },
        ) => match meaning {
            Some(m) => format!("{arg} does not take \"{value}\". {arg}: {m}"),
            None => format!("{arg} does not take \"{value}\"."),
        },
        (Lang::Vi, Usage::NoValue { arg, meaning }) => match meaning {
            Some(m) => format!("{arg} cần một giá trị. {arg}: {m}"),
            None => format!("{arg} cần một giá trị."),
        },
        (Lang::En, Usage::NoValue { arg, meaning }) => match meaning {
            Some(m) => format!("{arg} needs a value. {arg}: {m}"),
            None => format!("{arg} needs a value."),
        },
        (Lang::Vi, Usage::Conflict { arg, other }) => {
            format!("không dùng {arg} cùng với {other} được: bỏ một trong hai.")
        }
        (Lang::En, Usage::Conflict { arg, other }) => {
            format!("{arg} cannot be used with {other}: leave one out.")
        }
        (Lang::Vi, Usage::WrongValues { arg }) => {
            format!("{arg} có số giá trị không đúng: xem `--help` của lệnh.")
        }
        (Lang::En, Usage::WrongValues { arg }) => {
            format!("{arg} has the wrong number of values: see the command's --help.")
        }
        (Lang::Vi, Usage::Other { command }) => {
            format!("không hiểu dòng lệnh: xem `{command} --help`.")
        }
        (Lang::En, Usage::Other { command }) => {
            format!("the command line cannot be read: see `{command} --help`.")
        }
    }
}
