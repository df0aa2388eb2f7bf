
pub mod expr;
pub mod record;
pub mod time;
pub mod value;
pub mod nfa;
