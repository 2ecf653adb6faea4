fn main() {
    std::process::exit(imds_lint::cli::main());
}
