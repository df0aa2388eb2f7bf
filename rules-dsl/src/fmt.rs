//! Formatter: AST -> canonical text (being written).
use crate::ast::File;

pub fn format_file(_file: &File) -> String {
    String::new()
}
