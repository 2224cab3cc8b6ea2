//! The price table: US dollars per million tokens of each type, per model.

use std::collections::HashMap;

use super::usage::Usage;
use crate::settings::{Price, Rates};

/// The configured prices, looked up by model id.
#[derive(Debug, Default)]
pub struct Prices {
    by_model: HashMap<Box<str>, Rates, rustc_hash::FxBuildHasher>,
}

impl Prices {
    pub fn new(prices: &[Price]) -> Prices {
        Prices {
            by_model: prices
                .iter()
                .map(|p| (Box::from(p.model.as_str()), p.rates))
                .collect(),
        }
    }

    /// The rates of `model_id`: its own entry, else its foundation model's (so
    /// `eu.anthropic.…` is priced as `anthropic.…`).
    pub fn rates(&self, model_id: &str) -> Option<&Rates> {
        self.by_model
            .get(model_id)
            .or_else(|| self.by_model.get(crate::aws::foundation_model_id(model_id)))
    }

    /// What `usage` cost on `model_id`, `None` when the model has no price.
    pub fn cost(&self, model_id: &str, usage: &Usage) -> Option<f64> {
        let r = self.rates(model_id)?;
        let per_token = |n: u64, rate: f64| n as f64 * rate / 1_000_000.0;
        Some(
            per_token(usage.input, r.input)
                + per_token(usage.output, r.output)
                + per_token(usage.cache_read, r.cache_read)
                + per_token(usage.cache_write, r.cache_write),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_reads_and_writes_are_priced_at_their_own_rates() {
        let prices = Prices::new(&crate::settings::default_prices());
        let sonnet = "anthropic.claude-sonnet-4-20250514-v1:0";
        let cached = Usage {
            input: 0,
            output: 0,
            cache_read: 1_000_000,
            cache_write: 0,
        };
        // Sonnet 4: $0.30 per million cache reads, not the $3.00 of input.
        let read = prices.cost(sonnet, &cached).unwrap();
        assert!((read - 0.30).abs() < 1e-9, "{read}");
        let written = Usage {
            cache_write: 1_000_000,
            ..Usage::default()
        };
        let write = prices.cost(sonnet, &written).unwrap();
        assert!((write - 3.75).abs() < 1e-9, "{write}");
        let mixed = Usage {
            input: 2_000,
            output: 1_000,
            cache_read: 10_000,
            cache_write: 4_000,
        };
        let want = (2_000.0 * 3.0 + 1_000.0 * 15.0 + 10_000.0 * 0.30 + 4_000.0 * 3.75) / 1e6;
        let got = prices.cost(&format!("apac.{sonnet}"), &mixed).unwrap();
        assert!((got - want).abs() < 1e-12, "{got} vs {want}");
        assert_eq!(prices.cost("amazon.titan-embed-text-v2:0", &mixed), None);
    }
}
