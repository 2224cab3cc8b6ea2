//! The named patterns `redact` offers (`presets = [...]`), and the Luhn check that keeps
//! `credit_card` from matching any long number.

/// The named presets: (name, regex, replacement, description).
pub const PRESETS: &[(&str, &str, &str, &str)] = &[
    (
        "email",
        r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,}\b",
        "[EMAIL]",
        "e-mail addresses",
    ),
    (
        "aws_access_key",
        r"\b(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}\b",
        "[AWS_ACCESS_KEY]",
        "AWS access key ids (AKIA…, ASIA…)",
    ),
    (
        "ipv4",
        r"\b(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\b",
        "[IPV4]",
        "IPv4 addresses (also matches four-part version numbers such as 1.2.3.4)",
    ),
    (
        "credit_card",
        r"\b[0-9](?:[ -]?[0-9]){12,18}\b",
        "[CARD_NUMBER]",
        "payment card numbers: 13-19 digits, optionally grouped by spaces or dashes, passing the Luhn check",
    ),
];

/// The Luhn checksum over the digits of `s`.
pub(super) fn luhn(s: &str) -> bool {
    let digits: Vec<u32> = s.chars().filter_map(|c| c.to_digit(10)).collect();
    if !(13..=19).contains(&digits.len()) {
        return false;
    }
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            if i % 2 == 1 {
                let d2 = d * 2;
                if d2 > 9 {
                    d2 - 9
                } else {
                    d2
                }
            } else {
                d
            }
        })
        .sum();
    sum % 10 == 0
}
