//! The names people read for the indicators, the figures a report derives
//! from them and the reasons records are listed for review, in Vietnamese and
//! English. One set: a device's table (`gocua report`) and the server's
//! spreadsheets name a figure alike. Codes (`code()`) are what JSON and files
//! hold; names may change wording, codes do not.

use crate::contribute::ReviewReason;
use crate::indicator::{Account, AgeBand, Answer, Breakdown, Indicator};

/// A name in Vietnamese and in English.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Label {
    pub vi: &'static str,
    pub en: &'static str,
}

const fn label(vi: &'static str, en: &'static str) -> Label {
    Label { vi, en }
}

impl Indicator {
    pub fn label(self) -> Label {
        match self {
            Indicator::HouseholdsRegistered => label("Hộ đã đăng ký", "Households registered"),
            Indicator::HouseholdsVisited => label("Hộ được hỗ trợ", "Households visited"),
            Indicator::Visits => label("Lượt hỗ trợ", "Visits"),
            Indicator::ServicesDelivered => label("Dịch vụ đã thực hiện", "Services delivered"),
            Indicator::PeopleSupported => label("Người được hỗ trợ", "People supported"),
            Indicator::Persons => label("Nhân khẩu đã ghi", "Members listed"),
            Indicator::Accounts => label("Tài khoản của nhân khẩu", "Members' accounts"),
            Indicator::HouseholdsByDevice => label("Hộ theo thiết bị", "Households by device"),
            Indicator::DigitalCitizens => label("Công dân số", "Digital citizens"),
            Indicator::FollowUpsOpen => label("Hẹn quay lại chưa thực hiện", "Open follow-ups"),
            Indicator::Trainings => label("Buổi tập huấn", "Training sessions"),
            Indicator::VolunteersTrained => {
                label("Thành viên đã được tập huấn", "Volunteers trained")
            }
        }
    }
}

impl Account {
    /// The stable code, as in JSON.
    pub fn code(self) -> &'static str {
        match self {
            Account::VneidRegistered => "vneid_registered",
            Account::VneidActivated => "vneid_activated",
            Account::BankAccount => "bank_account",
            Account::PublicServiceAccount => "public_service_account",
            Account::EhealthBook => "ehealth_book",
            Account::DigitalSignature => "digital_signature",
            Account::BasicSkillsCertified => "basic_skills_certified",
        }
    }

    pub fn label(self) -> Label {
        match self {
            Account::VneidRegistered => label("VNeID đã đăng ký", "VNeID registered"),
            Account::VneidActivated => label("VNeID đã kích hoạt", "VNeID activated"),
            Account::BankAccount => label(
                "Tài khoản ngân hàng, ví điện tử",
                "Bank or e-wallet account",
            ),
            Account::PublicServiceAccount => label(
                "Tài khoản Cổng dịch vụ công",
                "Public-service portal account",
            ),
            Account::EhealthBook => label("Sổ sức khỏe điện tử", "E-health book"),
            Account::DigitalSignature => label("Chữ ký số", "Digital signature"),
            Account::BasicSkillsCertified => {
                label("Chứng nhận kỹ năng số cơ bản", "Basic skills certified")
            }
        }
    }
}

impl Answer {
    pub fn code(self) -> &'static str {
        match self {
            Answer::Yes => "yes",
            Answer::No => "no",
            Answer::NotAsked => "not_asked",
        }
    }
}

impl AgeBand {
    pub fn code(self) -> &'static str {
        match self {
            AgeBand::WorkingAge => "working_age",
            AgeBand::OtherAges => "other_ages",
            AgeBand::AgeUnknown => "age_unknown",
        }
    }
}

impl Breakdown {
    /// The breakdown as one line of `name=value` parts (`all` for the
    /// indicator itself), e.g. `service=vneid_activate; outcome=done`.
    pub fn code(&self) -> String {
        match self {
            Breakdown::All => "all".to_string(),
            Breakdown::TargetGroup { target_group } => format!("target_group={target_group}"),
            Breakdown::Service { service, outcome } => {
                format!("service={service}; outcome={outcome}")
            }
            Breakdown::Volunteer { volunteer } => format!("volunteer={volunteer}"),
            Breakdown::Account { account, answer } => {
                format!("account={}; answer={}", account.code(), answer.code())
            }
            Breakdown::Device { device_access } => format!("device_access={device_access}"),
            Breakdown::Age { age } => format!("age={}", age.code()),
            Breakdown::FollowUpOn { day } => format!("follow_up_on={day}"),
            Breakdown::Topic { topic } => format!("topic={topic}"),
        }
    }
}

/// A figure a report makes from the sums when it is read (a ratio, a count
/// that depends on the report's day) or takes from the roster: in
/// `UnitReport` beside its `figures`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Derived {
    /// `UnitReport::reached_in_period`.
    ReachedInPeriod,
    /// `UnitReport::reached_to_date`.
    ReachedToDate,
    /// `UnitReport::digital_citizens`: among working-age members.
    DigitalCitizensShare,
    /// `UnitReport::digital_citizens_target_pct`.
    DigitalCitizensTarget,
    /// `UnitReport::feature_phones_replaced`.
    FeaturePhonesReplaced,
    FollowUpsDue,
    FollowUpsOverdue,
    Villages,
    VillagesWithTeam,
    Teams,
    Volunteers,
    /// `UnitReport::volunteers_trained`: of the roster's volunteers.
    VolunteersTrainedShare,
}

impl Derived {
    pub const ALL: &'static [Derived] = &[
        Derived::ReachedInPeriod,
        Derived::ReachedToDate,
        Derived::DigitalCitizensShare,
        Derived::DigitalCitizensTarget,
        Derived::FeaturePhonesReplaced,
        Derived::FollowUpsDue,
        Derived::FollowUpsOverdue,
        Derived::Villages,
        Derived::VillagesWithTeam,
        Derived::Teams,
        Derived::Volunteers,
        Derived::VolunteersTrainedShare,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Derived::ReachedInPeriod => "households_reached_in_period",
            Derived::ReachedToDate => "households_reached_to_date",
            Derived::DigitalCitizensShare => "digital_citizens_working_age",
            Derived::DigitalCitizensTarget => "digital_citizens_target",
            Derived::FeaturePhonesReplaced => "feature_phones_replaced",
            Derived::FollowUpsDue => "follow_ups_due",
            Derived::FollowUpsOverdue => "follow_ups_overdue",
            Derived::Villages => "villages",
            Derived::VillagesWithTeam => "villages_with_team",
            Derived::Teams => "teams",
            Derived::Volunteers => "volunteers",
            Derived::VolunteersTrainedShare => "volunteers_trained_share",
        }
    }

    pub fn label(self) -> Label {
        match self {
            Derived::ReachedInPeriod => label(
                "Tỷ lệ hộ được hỗ trợ trong kỳ",
                "Households reached in the period",
            ),
            Derived::ReachedToDate => {
                label("Tỷ lệ hộ được hỗ trợ lũy kế", "Households reached to date")
            }
            Derived::DigitalCitizensShare => label(
                "Công dân số trong độ tuổi lao động",
                "Digital citizens of working age",
            ),
            Derived::DigitalCitizensTarget => {
                label("Mục tiêu công dân số", "Digital citizens target")
            }
            Derived::FeaturePhonesReplaced => {
                label("Điện thoại phổ thông đã thay", "Feature phones replaced")
            }
            Derived::FollowUpsDue => {
                label("Hẹn quay lại đến hạn (7 ngày)", "Follow-ups due (7 days)")
            }
            Derived::FollowUpsOverdue => label("Hẹn quay lại quá hạn", "Follow-ups overdue"),
            Derived::Villages => label("Số thôn", "Villages"),
            Derived::VillagesWithTeam => label("Thôn có tổ", "Villages with a team"),
            Derived::Teams => label("Số tổ", "Teams"),
            Derived::Volunteers => label("Số thành viên", "Volunteers"),
            Derived::VolunteersTrainedShare => label(
                "Tỷ lệ thành viên đã được tập huấn (lũy kế)",
                "Volunteers trained to date",
            ),
        }
    }
}

impl ReviewReason {
    pub fn code(self) -> &'static str {
        match self {
            ReviewReason::DatedAfterReference => "dated_after_reference",
            ReviewReason::DatedLongBeforeReference => "dated_long_before_reference",
            ReviewReason::UnreadableDate => "unreadable_date",
            ReviewReason::Undated => "undated",
            ReviewReason::LegacyCommune => "legacy_commune",
            ReviewReason::UnknownCommune => "unknown_commune",
        }
    }

    pub fn label(self) -> Label {
        match self {
            ReviewReason::DatedAfterReference => label(
                "ngày ghi sau thời điểm nhận (đồng hồ máy sai?), tính vào kỳ nhận",
                "dated after it was received (wrong clock?), counted when received",
            ),
            ReviewReason::DatedLongBeforeReference => label(
                "ngày ghi quá 60 ngày trước thời điểm nhận, tính vào kỳ nhận",
                "dated over 60 days before it was received, counted when received",
            ),
            ReviewReason::UnreadableDate => label(
                "ngày không đọc được, tính vào kỳ nhận",
                "unreadable date, counted when received",
            ),
            ReviewReason::Undated => label(
                "không có ngày: không tính vào kỳ nào",
                "no date: in no period",
            ),
            ReviewReason::LegacyCommune => label(
                "mã xã trước sắp xếp 2025, tính cho xã kế thừa",
                "commune code before the 2025 reform, counted under its successor",
            ),
            ReviewReason::UnknownCommune => {
                label("mã xã không có trong danh mục", "commune code in no list")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Codes are what files and JSON hold: they must match the serde names.
    #[test]
    fn codes_are_the_json_names() {
        let json = |s: &str| format!("\"{s}\"");
        for a in Account::ALL {
            assert_eq!(serde_json::to_string(a).ok(), Some(json(a.code())), "{a:?}");
        }
        for a in [Answer::Yes, Answer::No, Answer::NotAsked] {
            assert_eq!(serde_json::to_string(&a).ok(), Some(json(a.code())));
        }
        for a in [AgeBand::WorkingAge, AgeBand::OtherAges, AgeBand::AgeUnknown] {
            assert_eq!(serde_json::to_string(&a).ok(), Some(json(a.code())));
        }
        for r in [
            ReviewReason::DatedAfterReference,
            ReviewReason::DatedLongBeforeReference,
            ReviewReason::UnreadableDate,
            ReviewReason::Undated,
            ReviewReason::LegacyCommune,
            ReviewReason::UnknownCommune,
        ] {
            assert_eq!(serde_json::to_string(&r).ok(), Some(json(r.code())));
        }
        let codes: std::collections::BTreeSet<&str> = Indicator::ALL
            .iter()
            .map(|i| i.code())
            .chain(Derived::ALL.iter().map(|d| d.code()))
            .collect();
        assert_eq!(codes.len(), Indicator::ALL.len() + Derived::ALL.len());
    }
}
