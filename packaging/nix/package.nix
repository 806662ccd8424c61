# The cflogd package for Nix: the binary (cgo against libsystemd, version
# stamped), the man page, and the shipped pattern, rule and dashboard files
# under share/cflogd for reference.
#
#   cflogd = pkgs.callPackage ./packaging/nix/package.nix { };
#
# go.mod asks for Go 1.26: where the default buildGoModule has an older Go,
# pass a newer one, e.g. { buildGoModule = pkgs.buildGo126Module; }.
#
# vendorHash is the hash of the Go module dependencies (go.sum). It is a
# placeholder (lib.fakeHash) until first built: build once, copy the hash
# Nix prints after "got:", and set it here (or override vendorHash). Set it
# to lib.fakeHash again whenever go.mod or go.sum changes.
{
  lib,
  buildGoModule,
  pkg-config,
  installShellFiles,
  systemd,
  src ? ../..,
  version ? "0.0.0-dev",
  vendorHash ? lib.fakeHash,
}:

buildGoModule {
  pname = "cflogd";
  inherit version vendorHash;

  src = lib.cleanSourceWith {
    src = lib.cleanSource src;
    # Build inputs only: not the benchmark corpora or the build output.
    filter = path: type: !(lib.hasInfix "/dist/" path);
  };

  subPackages = [ "cmd/cflogd" ];

  # The journal reader is cgo against libsystemd (sd-journal).
  env.CGO_ENABLED = "1";
  nativeBuildInputs = [
    pkg-config
    installShellFiles
  ];
  buildInputs = [ systemd ];

  ldflags = [
    "-s"
    "-w"
    "-X main.version=${version}"
    "-X main.commit=nix"
  ];

  # The tests write real journal files with systemd-journal-remote and talk
  # to protocol peers; the project's CI runs them (scripts/test.sh).
  doCheck = false;

  postInstall = ''
    installManPage packaging/man/cflogd.1
    install -Dm0644 -t $out/share/cflogd/patterns.d patterns.d/*.yaml
    install -Dm0644 packaging/loki/rules.yaml $out/share/cflogd/loki/rules.yaml
    install -Dm0644 packaging/prometheus/cflogd.rules.yaml $out/share/cflogd/prometheus/cflogd.rules.yaml
    install -Dm0644 packaging/grafana/cflogd.json $out/share/cflogd/grafana/cflogd.json
  '';

  doInstallCheck = true;
  installCheckPhase = ''
    runHook preInstallCheck
    $out/bin/cflogd version
    $out/bin/cflogd check
    runHook postInstallCheck
  '';

  meta = {
    description = "Classify the systemd journal of chainfire, flaredb and placement-driver against the runbook";
    homepage = "https://git.example/centra-cloud/cflogd";
    mainProgram = "cflogd";
    platforms = lib.platforms.linux;
  };
}
