fn main() {
    std::process::exit(whm_migrate::cli::run());
}
