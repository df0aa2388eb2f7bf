//! "Did you mean ...?" for names that are close to a known one.

/// The candidate closest to `name`, if it is close enough to be a likely typo.
pub fn closest<'a, I>(name: &str, candidates: I) -> Option<&'a str>
where
    I: IntoIterator<Item = &'a str>,
{
    let lower = name.to_lowercase();
    candidates
        .into_iter()
        .filter(|c| *c != name)
        .map(|c| (strsim::damerau_levenshtein(&lower, &c.to_lowercase()), c))
        .filter(|(d, c)| {
            // Allow about one edit per three characters, at least one.
            let budget = (name.chars().count().max(c.chars().count()) / 3).max(1);
            *d <= budget
        })
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// `"; did you mean 'x'?"` or nothing: for the end of a message.
pub fn did_you_mean<'a, I>(name: &str, candidates: I) -> Option<String>
where
    I: IntoIterator<Item = &'a str>,
{
    closest(name, candidates).map(|c| format!("did you mean '{c}'?"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_typos() {
        assert_eq!(closest("amout", ["amount", "country"]), Some("amount"));
        assert_eq!(closest("transactoins", ["transactions"]), Some("transactions"));
        assert_eq!(closest("zzz", ["amount"]), None);
    }
}
