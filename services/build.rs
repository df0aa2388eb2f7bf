fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto/cepheus.proto");
    tonic_prost_build::configure().compile_protos(&["proto/cepheus.proto"], &["proto"])?;
    Ok(())
}
