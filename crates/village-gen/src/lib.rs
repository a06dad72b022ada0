//! Deterministic generator of realistic Vietnamese villages, for tests, demos and
//! benchmarks.
//!
//! [`generate`] turns a seed into households with their members (names with
//! diacritics drawn by real family-name frequency, plausible birth years, genders
//! agreeing with middle names, some 12-digit ID numbers consistent with birth year
//! and gender), devices, target groups, digital skills and a history of support
//! visits in 2026. The same seed always gives the same villages: the only source of
//! randomness is a [`ChaCha8Rng`] seeded from it, never the wall clock or hash-map
//! order. [`write_record`] writes one generated household into a
//! [`field_core::Store`] through its public facade.

use field_core::{NewHousehold, NewPerson, NewVisit, ServiceOutcome, SkillsEdit, Store};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// One household as generated, and as `gocua household import` reads it (the
/// type is field-core's: the import checks and writes it there).
pub use field_core::{HouseholdRecord, VisitRecord};

/// The year the generated data is set in: ages are counted at this year and
/// every visit falls in it.
pub const REFERENCE_YEAR: i64 = 2026;

/// Generates `households` households spread round-robin over `villages` (by
/// name). With no village names, `village` is left empty (a device with one
/// village accepts that).
pub fn generate(seed: u64, villages: &[String], households: usize) -> Vec<HouseholdRecord> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..households)
        .map(|i| {
            let village = if villages.is_empty() {
                String::new()
            } else {
                villages[i % villages.len()].clone()
            };
            household(&mut rng, village)
        })
        .collect()
}

/// Writes one generated household into `store`: the household, each member, then
/// each visit with its people resolved from the new member ids. Returns the
/// household's id.
pub fn write_record(store: &Store, rec: &HouseholdRecord) -> field_core::Result<String> {
    let household = store.add_household(rec.household.clone())?;
    let mut member_ids = Vec::with_capacity(rec.members.len());
    for m in &rec.members {
        member_ids.push(store.add_member(&household.id, m.clone())?.id);
    }
    for v in &rec.visits {
        let mut visit = v.visit.clone();
        // Records of visits made before the household is written here: the
        // household's registration is now, its visits earlier.
        visit.entered_late = true;
        visit.person_ids.extend(
            v.member_indexes
                .iter()
                .filter_map(|&i| member_ids.get(i).cloned()),
        );
        store.record_visit(&household.id, visit)?;
    }
    Ok(household.id)
}

// ---- reference lists ----

/// Family names with their approximate share of the population (per mille).
const FAMILY_NAMES: &[(&str, u32)] = &[
    ("Nguyễn", 380),
    ("Trần", 110),
    ("Lê", 95),
    ("Phạm", 70),
    ("Hoàng", 32),
    ("Huỳnh", 20),
    ("Phan", 45),
    ("Vũ", 22),
    ("Võ", 17),
    ("Đặng", 21),
    ("Bùi", 20),
    ("Đỗ", 14),
    ("Hồ", 13),
    ("Ngô", 13),
    ("Dương", 10),
    ("Lý", 5),
    ("Đàm", 3),
    ("Trịnh", 5),
    ("Đinh", 5),
    ("Lương", 4),
    ("Mai", 3),
    ("Tạ", 2),
    ("Cao", 3),
    ("Lâm", 2),
    ("Hà", 3),
    ("Chu", 2),
    ("Tô", 2),
    ("Quách", 1),
];

const MALE_MIDDLE: &[(&str, u32)] = &[
    ("Văn", 45),
    ("Đức", 10),
    ("Minh", 10),
    ("Quang", 6),
    ("Hữu", 7),
    ("Công", 5),
    ("Thanh", 5),
    ("Xuân", 4),
    ("Quốc", 4),
    ("Tuấn", 2),
    ("Gia", 2),
];

const FEMALE_MIDDLE: &[(&str, u32)] = &[
    ("Thị", 60),
    ("Thu", 8),
    ("Ngọc", 8),
    ("Thanh", 5),
    ("Kim", 4),
    ("Minh", 4),
    ("Hồng", 4),
    ("Phương", 3),
    ("Bảo", 2),
    ("Khánh", 2),
];

const MALE_GIVEN: &[&str] = &[
    "Hùng", "Dũng", "Hòa", "Nam", "Tuấn", "Long", "Sơn", "Hải", "Bình", "Cường", "Thắng", "Phúc",
    "Quân", "Khoa", "Hiếu", "Tùng", "Đạt", "Trung", "Lâm", "An", "Hưng", "Thành", "Toàn", "Việt",
    "Đông", "Huy", "Khánh", "Lực", "Tài", "Thịnh", "Vinh", "Bảo", "Minh",
];

const FEMALE_GIVEN: &[&str] = &[
    "Hạnh", "Lan", "Thủy", "Hoa", "Mai", "Hương", "Linh", "Trang", "Nga", "Hằng", "Huyền", "Nhung",
    "Yến", "Thảo", "Loan", "Phương", "Ngân", "Vy", "Anh", "Hòa", "Dung", "Liên", "Oanh", "Thúy",
    "Tuyết", "Xuân", "Chi", "My", "Ngọc", "Hiền",
];

/// Province codes of the old 63-province list (birth-registration province of ID
/// numbers).
const LEGACY_PROVINCES: &[u16] = &[
    1, 2, 4, 6, 8, 10, 11, 12, 14, 15, 17, 19, 20, 22, 24, 25, 26, 27, 30, 31, 33, 34, 35, 36, 37,
    38, 40, 42, 44, 45, 46, 48, 49, 51, 52, 54, 56, 58, 60, 62, 64, 66, 67, 68, 70, 72, 74, 75, 77,
    79, 80, 82, 83, 84, 86, 87, 89, 91, 92, 93, 94, 95, 96,
];

/// Mobile prefixes in use (Viettel, Vinaphone, MobiFone, Vietnamobile, Gmobile...).
const MOBILE_PREFIXES: &[&str] = &[
    "032", "033", "034", "035", "036", "037", "038", "039", "056", "058", "059", "070", "076",
    "077", "078", "079", "081", "082", "083", "084", "085", "086", "088", "089", "090", "091",
    "092", "093", "094", "096", "097", "098", "099",
];

const HAMLET_PARTS: &[&str] = &[
    "Đông",
    "Tây",
    "Nam",
    "Bắc",
    "Thượng",
    "Hạ",
    "Trung",
    "Chợ",
    "Đình",
    "Giữa",
];

const STREETS: &[&str] = &[
    "Lê Lợi",
    "Trần Hưng Đạo",
    "Nguyễn Trãi",
    "Quang Trung",
    "Hai Bà Trưng",
    "Lý Thường Kiệt",
    "Hùng Vương",
    "Phan Đình Phùng",
];

const BLOCKED_NOTES: &[&str] = &[
    "Hệ thống VNeID lỗi, hẹn lại",
    "Cần công an xã xác thực thông tin",
    "Mất sóng, không gửi được hồ sơ",
    "Chưa có CCCD gắn chip",
    "Điện thoại không đủ bộ nhớ để cài ứng dụng",
    "Không nhận được mã OTP",
];

const PARTLY_NOTES: &[&str] = &[
    "Đã cài ứng dụng, chưa kích hoạt",
    "Hẹn hướng dẫn thêm vào tuần sau",
    "Đã đăng ký, chờ phê duyệt",
];

const REFUSED_NOTES: &[&str] = &[
    "Người dân chưa muốn sử dụng",
    "Sợ bị lừa đảo qua mạng",
    "Chờ con cháu về hướng dẫn",
];

const FEEDBACK: &[&str] = &[
    "Mong có thêm buổi hướng dẫn cho người cao tuổi",
    "Sóng điện thoại ở xóm rất yếu",
    "Ứng dụng khó dùng với người lớn tuổi, chữ quá nhỏ",
    "Cảm ơn tổ công nghệ số cộng đồng đã đến tận nhà",
    "Đề nghị hỗ trợ thêm về thanh toán tiền điện",
    "Lo ngại bị lừa đảo khi dùng tài khoản ngân hàng",
    "Muốn được hướng dẫn bán hàng trên mạng",
];

// ---- small helpers on the seeded generator ----

fn weighted<'a, T>(rng: &mut ChaCha8Rng, items: &'a [(T, u32)]) -> &'a T {
    let total: u32 = items.iter().map(|(_, w)| *w).sum();
    let mut pick = rng.random_range(0..total.max(1));
    for (item, w) in items {
        if pick < *w {
            return item;
        }
        pick -= w;
    }
    &items[items.len() - 1].0
}

fn pick<'a, T>(rng: &mut ChaCha8Rng, items: &'a [T]) -> &'a T {
    &items[rng.random_range(0..items.len())]
}

fn chance(rng: &mut ChaCha8Rng, p: f64) -> bool {
    rng.random_bool(p)
}

fn digits(rng: &mut ChaCha8Rng, n: usize) -> String {
    (0..n)
        .map(|_| char::from(b'0' + rng.random_range(0..10u8)))
        .collect()
}

// ---- people ----

#[derive(Clone, Copy, PartialEq, Eq)]
enum Sex {
    Male,
    Female,
}

struct Draft {
    family: &'static str,
    sex: Sex,
    birth_year: i64,
}

fn age(year: i64) -> i64 {
    REFERENCE_YEAR - year
}

fn person_name(rng: &mut ChaCha8Rng, family: &str, sex: Sex) -> String {
    let (middle, given) = match sex {
        Sex::Male => (*weighted(rng, MALE_MIDDLE), *pick(rng, MALE_GIVEN)),
        Sex::Female => (*weighted(rng, FEMALE_MIDDLE), *pick(rng, FEMALE_GIVEN)),
    };
    // A few names carry two middle names (Nguyễn Thị Thu Hà, Trần Văn Minh Đức).
    if chance(rng, 0.08) {
        let extra = match sex {
            Sex::Male => *pick(rng, &["Minh", "Anh", "Hoàng", "Duy", "Quốc"]),
            Sex::Female => *pick(rng, &["Thu", "Ngọc", "Mai", "Thanh", "Hồng"]),
        };
        if extra != middle && extra != given {
            return format!("{family} {middle} {extra} {given}");
        }
    }
    format!("{family} {middle} {given}")
}

/// `PPP G YY NNNNNN`, consistent with the birth year and gender.
fn id_number(rng: &mut ChaCha8Rng, province: u16, birth_year: i64, sex: Sex) -> String {
    let century = birth_year.div_euclid(100) - 19;
    let g = century * 2 + i64::from(sex == Sex::Female);
    format!(
        "{province:03}{g}{:02}{}",
        birth_year.rem_euclid(100),
        digits(rng, 6)
    )
}

fn mobile(rng: &mut ChaCha8Rng) -> String {
    format!("{}{}", pick(rng, MOBILE_PREFIXES), digits(rng, 7))
}

fn skills(rng: &mut ChaCha8Rng, birth_year: i64) -> SkillsEdit {
    let a = age(birth_year);
    if a < 14 {
        return SkillsEdit::default();
    }
    // Nobody has asked this person yet.
    if chance(rng, 0.12) {
        return SkillsEdit::default();
    }
    let (p_level2, p_level1, p_registered) = match a {
        14..=17 => (0.35, 0.15, 0.15),
        18..=59 => (0.6, 0.12, 0.13),
        60..=74 => (0.3, 0.12, 0.22),
        _ => (0.12, 0.08, 0.25),
    };
    let r: f64 = rng.random();
    let level = if r < p_level2 {
        "level2"
    } else if r < p_level2 + p_level1 {
        "level1"
    } else if r < p_level2 + p_level1 + p_registered {
        "registered"
    } else {
        "none"
    };
    // Registered accounts are often not activated: keep the gap visible.
    let activated = match level {
        "level1" | "level2" => true,
        "registered" => chance(rng, 0.15),
        _ => false,
    };
    let adult = a >= 18;
    let p_bank = match a {
        14..=17 => 0.2,
        18..=59 => 0.8,
        60..=74 => 0.45,
        _ => 0.2,
    };
    let bank = chance(rng, p_bank);
    let public_service = activated && chance(rng, if adult { 0.55 } else { 0.2 });
    let ehealth = activated && chance(rng, if a >= 60 { 0.5 } else { 0.35 });
    let signature = adult && a < 65 && activated && chance(rng, 0.08);
    let basic = chance(rng, if a < 60 { 0.3 } else { 0.1 });
    SkillsEdit {
        vneid_level: Some(level.to_string()),
        vneid_activated: Some(activated),
        bank_account: Some(bank),
        public_service_account: chance(rng, 0.9).then_some(public_service),
        ehealth_book: chance(rng, 0.85).then_some(ehealth),
        digital_signature: chance(rng, 0.6).then_some(signature),
        basic_skills_certified: chance(rng, 0.7).then_some(basic),
    }
}

/// The people of one household, the head first.
fn family(rng: &mut ChaCha8Rng, size: usize) -> Vec<Draft> {
    let head_sex = if chance(rng, 0.72) {
        Sex::Male
    } else {
        Sex::Female
    };
    // Heads of one-person households are often elderly.
    let head_year = if size == 1 && chance(rng, 0.6) {
        rng.random_range(1935..=1965)
    } else {
        rng.random_range(1940..=2000)
    };
    let head_family = *weighted(rng, FAMILY_NAMES);
    let mut people = vec![Draft {
        family: head_family,
        sex: head_sex,
        birth_year: head_year,
    }];
    if size == 1 {
        return people;
    }
    // The children take the father's family name.
    let mut children_family = head_family;
    if chance(rng, 0.85) {
        let spouse_sex = if head_sex == Sex::Male {
            Sex::Female
        } else {
            Sex::Male
        };
        let spouse_family = *weighted(rng, FAMILY_NAMES);
        if spouse_sex == Sex::Male {
            children_family = spouse_family;
        }
        let gap = match spouse_sex {
            Sex::Female => rng.random_range(-1..=6),
            Sex::Male => rng.random_range(-6..=1),
        };
        people.push(Draft {
            family: spouse_family,
            sex: spouse_sex,
            birth_year: (head_year + gap).clamp(1935, 2004),
        });
    }
    // An elderly parent of the head lives with the family.
    if people.len() < size && head_year >= 1960 && chance(rng, 0.3) {
        let sex = if chance(rng, 0.65) {
            Sex::Female
        } else {
            Sex::Male
        };
        let year = (head_year - rng.random_range(22..=35)).max(1935);
        let fam = if sex == Sex::Male {
            head_family
        } else {
            *weighted(rng, FAMILY_NAMES)
        };
        people.push(Draft {
            family: fam,
            sex,
            birth_year: year,
        });
    }
    // Children, and grandchildren when the head is old enough.
    let mut child_years = Vec::new();
    while people.len() < size {
        let sex = if chance(rng, 0.5) {
            Sex::Male
        } else {
            Sex::Female
        };
        let mut year = head_year + rng.random_range(20..=40);
        let mut fam = children_family;
        if year > 2024 || (head_year < 1965 && child_years.len() >= 2 && chance(rng, 0.6)) {
            // A grandchild, child of a son living in the household.
            year = (head_year + rng.random_range(45..=65)).min(2024);
            if chance(rng, 0.3) {
                fam = *weighted(rng, FAMILY_NAMES);
            }
        }
        let year = year.min(2024);
        child_years.push(year);
        people.push(Draft {
            family: fam,
            sex,
            birth_year: year,
        });
    }
    people
}

fn address(rng: &mut ChaCha8Rng) -> String {
    match rng.random_range(0..5u8) {
        0 | 1 => format!(
            "Xóm {}, Thôn {}",
            rng.random_range(1..=12),
            pick(rng, HAMLET_PARTS)
        ),
        2 => format!(
            "Số {}, ngõ {}",
            rng.random_range(1..=120),
            rng.random_range(1..=60)
        ),
        3 => format!(
            "Số {}, đường {}",
            rng.random_range(1..=300),
            pick(rng, STREETS)
        ),
        _ => format!("Tổ {}", rng.random_range(1..=20)),
    }
}

// ---- households ----

fn household(rng: &mut ChaCha8Rng, village: String) -> HouseholdRecord {
    let size = *weighted(
        rng,
        &[
            (1usize, 8),
            (2, 15),
            (3, 22),
            (4, 25),
            (5, 15),
            (6, 10),
            (7, 5),
        ],
    );
    let drafts = family(rng, size);
    let province = *pick(rng, LEGACY_PROVINCES);
    let members: Vec<NewPerson> = drafts
        .iter()
        .map(|d| {
            let name = person_name(rng, d.family, d.sex);
            let gender = match d.sex {
                Sex::Male => "male",
                Sex::Female => "female",
            };
            let number = (age(d.birth_year) >= 14 && chance(rng, 0.45)).then(|| {
                let p = if chance(rng, 0.85) {
                    province
                } else {
                    *pick(rng, LEGACY_PROVINCES)
                };
                id_number(rng, p, d.birth_year, d.sex)
            });
            let birth_year = chance(rng, 0.95).then_some(d.birth_year);
            // An ID number is only given with the birth year it encodes.
            let id_number = if birth_year.is_some() { number } else { None };
            NewPerson {
                name,
                birth_year,
                gender: Some(gender.to_string()),
                id_number,
                skills: skills(rng, d.birth_year),
            }
        })
        .collect();

    let ages: Vec<i64> = drafts.iter().map(|d| age(d.birth_year)).collect();
    let all_elderly = ages.iter().all(|a| *a >= 60);
    let mut groups: Vec<&str> = Vec::new();
    let poor = chance(rng, 0.08);
    let near_poor = !poor && chance(rng, 0.08);
    if poor {
        groups.push("poor");
    }
    if near_poor {
        groups.push("near_poor");
    }
    if ages.iter().any(|a| *a >= 60) {
        groups.push("elderly");
    }
    let disability = chance(rng, 0.05);
    if disability {
        groups.push("disability");
    }
    if chance(rng, 0.1) {
        groups.push("ethnic_minority");
    }
    if !all_elderly && chance(rng, 0.15) {
        groups.push("small_trader");
    }
    if ages.iter().any(|a| (6..=18).contains(a)) {
        groups.push("school_children");
    }
    let old_old = ages.iter().any(|a| *a >= 80);
    if ((poor || disability) && chance(rng, 0.7)) || (old_old && chance(rng, 0.6)) {
        groups.push("welfare_beneficiary");
    }
    let target_groups: Vec<String> = groups.iter().map(|g| g.to_string()).collect();

    let device = {
        let (smart, feature) = if all_elderly {
            (0.35, 0.45)
        } else if poor {
            (0.55, 0.3)
        } else {
            (0.82, 0.13)
        };
        let r: f64 = rng.random();
        if r < smart {
            "smartphone"
        } else if r < smart + feature {
            "feature_phone_only"
        } else {
            "none"
        }
    };
    let phone = (device != "none" || chance(rng, 0.2))
        .then(|| mobile(rng))
        .filter(|_| chance(rng, 0.85));
    let member_count = if chance(rng, 0.9) {
        Some(members.len() as i64)
    } else if chance(rng, 0.5) {
        // Members working away from home are counted but not listed.
        Some(members.len() as i64 + rng.random_range(1..=2))
    } else {
        None
    };
    let head_name = members[0].name.clone();
    let visits = visits(rng, &groups, &ages, device);
    HouseholdRecord {
        household: NewHousehold {
            village,
            address: address(rng),
            head_name,
            phone,
            member_count,
            device_access: Some(device.to_string()),
            target_groups,
        },
        members,
        visits,
    }
}

// ---- visits ----

/// Days before each month of 2026 (not a leap year).
const MONTH_STARTS: [u32; 13] = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334, 365];

/// `YYYY-MM-DD` of a day of 2026 counted from 0 (wrapping into the next year).
fn day_text(day: u32) -> String {
    let (year, day) = if day >= 365 {
        (REFERENCE_YEAR + 1, day - 365)
    } else {
        (REFERENCE_YEAR, day)
    };
    let month = MONTH_STARTS.iter().rposition(|s| *s <= day).unwrap_or(0);
    let dom = day - MONTH_STARTS[month] + 1;
    format!("{year}-{:02}-{dom:02}", month + 1)
}

/// Visits fall between 1 January and 15 November 2026 (day 318).
const LAST_VISIT_DAY: u32 = 318;

fn services_for(groups: &[&str], device: &str) -> Vec<&'static str> {
    let mut pool: Vec<&'static str> = vec![
        "vneid_register",
        "vneid_activate",
        "vneid_level2",
        "cccd",
        "public_service_portal",
        "provincial_app",
        "bank_account",
        "cashless_utilities",
        "scam_awareness",
        "digital_signature",
    ];
    for g in groups {
        let extra: &[&'static str] = match *g {
            "small_trader" => &[
                "ecommerce",
                "cashless_utilities",
                "bank_account",
                "ecommerce",
            ],
            "elderly" => &[
                "ehealth_book",
                "telemedicine",
                "ehealth_book",
                "scam_awareness",
            ],
            "poor" | "near_poor" => &["welfare_cashless", "basic_skills", "basic_skills"],
            "welfare_beneficiary" => &["welfare_cashless", "welfare_cashless"],
            "school_children" => &["cashless_school_fees", "elearning", "cashless_school_fees"],
            "disability" => &["ehealth_book", "welfare_cashless"],
            _ => &[],
        };
        // Group services are listed twice so that they come up more often.
        pool.extend_from_slice(extra);
        pool.extend_from_slice(extra);
    }
    if device == "feature_phone_only" {
        pool.extend_from_slice(&["smartphone_replacement"; 4]);
    }
    if device != "smartphone" {
        pool.push("basic_skills");
    }
    pool
}

fn visits(rng: &mut ChaCha8Rng, groups: &[&str], ages: &[i64], device: &str) -> Vec<VisitRecord> {
    let n = *weighted(
        rng,
        &[(0usize, 15), (1, 25), (2, 25), (3, 18), (4, 10), (5, 7)],
    );
    let pool = services_for(groups, device);
    let mut days: Vec<u32> = (0..n)
        .map(|_| rng.random_range(0..=LAST_VISIT_DAY))
        .collect();
    days.sort_unstable();
    days.into_iter()
        .map(|day| {
            let hour = *weighted(
                rng,
                &[
                    (7u32, 2),
                    (8, 4),
                    (9, 5),
                    (10, 4),
                    (14, 4),
                    (15, 4),
                    (16, 3),
                    (17, 2),
                    (19, 4),
                    (20, 2),
                ],
            );
            let minute = rng.random_range(0..12u32) * 5;
            let count = *weighted(rng, &[(1usize, 50), (2, 35), (3, 15)]);
            let mut services: Vec<ServiceOutcome> = Vec::new();
            let mut tries = 0;
            while services.len() < count && tries < 20 {
                tries += 1;
                let code = *pick(rng, &pool);
                if services.iter().any(|s| s.service == code) {
                    continue;
                }
                let outcome = *weighted(
                    rng,
                    &[("done", 75), ("partly", 12), ("refused", 5), ("blocked", 8)],
                );
                let note = match outcome {
                    "blocked" => Some(pick(rng, BLOCKED_NOTES).to_string()),
                    "partly" if chance(rng, 0.6) => Some(pick(rng, PARTLY_NOTES).to_string()),
                    "refused" if chance(rng, 0.7) => Some(pick(rng, REFUSED_NOTES).to_string()),
                    _ => None,
                };
                services.push(ServiceOutcome {
                    service: code.to_string(),
                    outcome: outcome.to_string(),
                    note,
                });
            }
            let unfinished = services.iter().any(|s| s.outcome != "done");
            let follow_up_on = chance(rng, if unfinished { 0.6 } else { 0.08 })
                .then(|| day_text(day + rng.random_range(3..=30)));
            let feedback = chance(rng, 0.15).then(|| pick(rng, FEEDBACK).to_string());
            let elderly_service = services
                .iter()
                .any(|s| matches!(s.service.as_str(), "ehealth_book" | "telemedicine"));
            let member_indexes = people_helped(rng, ages, elderly_service);
            VisitRecord {
                visit: NewVisit {
                    visited_at: Some(format!("{} {hour:02}:{minute:02}", day_text(day))),
                    person_ids: Vec::new(),
                    services,
                    duration_minutes: Some(rng.random_range(2..=12i64) * 5),
                    follow_up_on,
                    feedback,
                    consent_id: None,
                    other_volunteer_ids: Vec::new(),
                    entered_late: true,
                },
                member_indexes,
            }
        })
        .collect()
}

/// One or two people helped, preferring the elderly for health services and
/// people of 14 or more otherwise.
fn people_helped(rng: &mut ChaCha8Rng, ages: &[i64], elderly_service: bool) -> Vec<usize> {
    let preferred: Vec<usize> = (0..ages.len())
        .filter(|&i| {
            if elderly_service {
                ages[i] >= 60
            } else {
                ages[i] >= 14
            }
        })
        .collect();
    let candidates: Vec<usize> = if preferred.is_empty() {
        (0..ages.len()).collect()
    } else {
        preferred
    };
    let mut out = vec![*pick(rng, &candidates)];
    if candidates.len() > 1 && chance(rng, 0.3) {
        let other = *pick(rng, &candidates);
        if !out.contains(&other) {
            out.push(other);
        }
    }
    out.sort_unstable();
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use field_core::InitRequest;

    fn villages() -> Vec<String> {
        ["Thôn Đông", "Thôn Tây", "Xóm Chợ"]
            .iter()
            .map(|s| s.to_string())
            .collect()
    }

    /// A directory removed when dropped (no extra dependency for one test).
    struct TempDir(std::path::PathBuf);

    impl TempDir {
        fn new(tag: &str) -> TempDir {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0);
            let p = std::env::temp_dir().join(format!(
                "gocua-village-gen-{tag}-{}-{nanos}",
                std::process::id()
            ));
            std::fs::create_dir_all(&p).unwrap();
            TempDir(p)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn same_seed_same_output() {
        let a = generate(42, &villages(), 300);
        let b = generate(42, &villages(), 300);
        assert_eq!(a, b);
        assert_eq!(
            serde_json::to_string(&a).unwrap(),
            serde_json::to_string(&b).unwrap()
        );
    }

    #[test]
    fn different_seed_different_output() {
        assert_ne!(generate(1, &villages(), 50), generate(2, &villages(), 50));
    }

    #[test]
    fn records_round_trip_through_json() {
        let a = generate(7, &villages(), 20);
        let text = serde_json::to_string(&a).unwrap();
        let back: Vec<HouseholdRecord> = serde_json::from_str(&text).unwrap();
        assert_eq!(a, back);
    }

    #[test]
    fn data_is_plausible() {
        let recs = generate(9, &villages(), 2000);
        let mut nguyen = 0usize;
        let mut heads = 0usize;
        let mut with_id = 0usize;
        let mut visits = 0usize;
        for (i, r) in recs.iter().enumerate() {
            assert_eq!(r.household.village, villages()[i % 3]);
            assert!((1..=7).contains(&r.members.len()));
            assert_eq!(r.household.head_name, r.members[0].name);
            assert!(r.visits.len() <= 5);
            heads += 1;
            if r.household.head_name.starts_with("Nguyễn ") {
                nguyen += 1;
            }
            if let Some(p) = &r.household.phone {
                assert_eq!(p.len(), 10);
                assert!(p.starts_with('0'));
                assert!(matches!(p.as_bytes()[1], b'3' | b'5' | b'7' | b'8' | b'9'));
            }
            let ages: Vec<i64> = r
                .members
                .iter()
                .filter_map(|m| m.birth_year)
                .map(age)
                .collect();
            if ages.iter().any(|a| *a >= 60) {
                assert!(r.household.target_groups.iter().any(|g| g == "elderly"));
            }
            for m in &r.members {
                if let Some(y) = m.birth_year {
                    assert!((1935..=2024).contains(&y), "{y}");
                }
                let middle = m.name.split(' ').nth(1).unwrap();
                if middle == "Thị" {
                    assert_eq!(m.gender.as_deref(), Some("female"));
                }
                if middle == "Văn" {
                    assert_eq!(m.gender.as_deref(), Some("male"));
                }
                if let Some(n) = &m.id_number {
                    with_id += 1;
                    let y = m.birth_year.unwrap();
                    let female = m.gender.as_deref() == Some("female");
                    assert_eq!(n.len(), 12);
                    let g = i64::from(n.as_bytes()[3] - b'0');
                    assert_eq!(g, (y / 100 - 19) * 2 + i64::from(female), "{n} {y}");
                    assert_eq!(&n[4..6], format!("{:02}", y % 100));
                }
            }
            for v in &r.visits {
                visits += 1;
                let at = v.visit.visited_at.as_deref().unwrap();
                assert!(at.starts_with("2026-"), "{at}");
                assert_eq!(at.len(), 16);
                assert!(!v.visit.services.is_empty());
                let d = v.visit.duration_minutes.unwrap();
                assert!((10..=60).contains(&d));
                assert!(!v.member_indexes.is_empty());
                assert!(v.member_indexes.iter().all(|i| *i < r.members.len()));
            }
        }
        let share = nguyen as f64 / heads as f64;
        assert!((0.30..0.46).contains(&share), "Nguyễn share {share}");
        assert!(with_id > 0);
        assert!(visits > 2000);
    }

    #[test]
    fn day_text_is_a_calendar_day() {
        assert_eq!(day_text(0), "2026-01-01");
        assert_eq!(day_text(31), "2026-02-01");
        assert_eq!(day_text(58), "2026-02-28");
        assert_eq!(day_text(59), "2026-03-01");
        assert_eq!(day_text(364), "2026-12-31");
        assert_eq!(day_text(365), "2027-01-01");
        assert_eq!(day_text(LAST_VISIT_DAY + 30), "2026-12-15");
    }

    #[test]
    fn every_record_is_accepted_by_a_store() {
        let dir = TempDir::new("store");
        let store =
            Store::open(dir.0.join("store.db"), &field_core::StoreKey::Unencrypted).unwrap();
        store
            .init(InitRequest {
                volunteer_name: "Nguyễn Thị Hạnh".into(),
                volunteer_phone: Some("0912345678".into()),
                team_name: "Tổ CNSCĐ Thôn Đông".into(),
                commune_code: "00097".into(),
                village_names: villages(),
            })
            .unwrap();
        let recs = generate(2026, &villages(), 200);
        let mut visits = 0usize;
        for (i, r) in recs.iter().enumerate() {
            let id = write_record(&store, r).unwrap_or_else(|e| panic!("record {i}: {e:?}"));
            let h = store.household(&id).unwrap();
            assert_eq!(h.members.len(), r.members.len());
            assert_eq!(h.visits.len(), r.visits.len());
            visits += r.visits.len();
        }
        let status = store.status().unwrap();
        assert_eq!(status.households, 200);
        assert_eq!(status.visits as usize, visits);
        assert!(!store.search("nguyen", 10).unwrap().households.is_empty());
    }
}
