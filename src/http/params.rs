//! Query parameters whose values AWS takes from a fixed set: declared as enums, so the
//! OpenAPI document lists the values and poem-openapi refuses any other (400 in the route's
//! dialect) before a request is made.

macro_rules! aws_enum {
    ($(#[$doc:meta])* $name:ident { $($variant:ident => $value:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, poem_openapi::Enum)]
        pub enum $name {
            $(#[oai(rename = $value)] $variant),+
        }

        impl $name {
            /// The value as AWS spells it.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $value),+
                }
            }
        }
    };
}

aws_enum!(
    /// ListFoundationModels' `byOutputModality`.
    OutputModality { Text => "TEXT", Image => "IMAGE", Embedding => "EMBEDDING" }
);
aws_enum!(
    /// ListFoundationModels' `byInferenceType`.
    InferenceType { OnDemand => "ON_DEMAND", Provisioned => "PROVISIONED" }
);
aws_enum!(
    /// ListFoundationModels' `byCustomizationType`.
    CustomizationType {
        FineTuning => "FINE_TUNING",
        ContinuedPreTraining => "CONTINUED_PRE_TRAINING",
        Distillation => "DISTILLATION",
    }
);
aws_enum!(
    /// ListInferenceProfiles' `typeEquals`.
    ProfileType { SystemDefined => "SYSTEM_DEFINED", Application => "APPLICATION" }
);
