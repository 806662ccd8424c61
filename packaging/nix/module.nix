# NixOS module for cflogd: services.cflogd.
#
#   imports = [ ./packaging/nix/module.nix ];
#   services.cflogd = {
#     enable = true;
#     settings.sink = [ { type = "loki"; url = "https://loki.example:3100/loki/api/v1/push"; } ];
#   };
#
# See docs/packaging.md for a full example. The service runs as a dynamic user
# in the systemd-journal group, with the same hardening as the Debian unit
# (packaging/systemd/cflogd.service).
{
  config,
  lib,
  pkgs,
  ...
}:

let
  cfg = config.services.cflogd;
  settingsFormat = pkgs.formats.toml { };

  # extraPatterns as { name = file; }: a list of files keeps their names, an
  # attribute set of YAML text gets NAME.yaml.
  patternFiles =
    if builtins.isList cfg.extraPatterns then
      map (p: {
        name = baseNameOf (toString p);
        path = p;
      }) cfg.extraPatterns
    else
      lib.mapAttrsToList (
        name: text:
        let
          file = if lib.hasSuffix ".yaml" name then name else "${name}.yaml";
        in
        {
          name = file;
          path = pkgs.writeText file text;
        }
      ) cfg.extraPatterns;

  # The extra pattern files in one directory, checked at build time: a file
  # with an error, or an example that does not classify as it says, fails
  # the build with file:line:col messages instead of the service at run time.
  extraPatternsDir =
    pkgs.runCommand "cflogd-patterns"
      {
        nativeBuildInputs = [ cfg.package ];
      }
      ''
        mkdir -p $out
        ${lib.concatMapStrings (f: ''
          cp ${f.path} $out/${lib.escapeShellArg f.name}
        '') patternFiles}
        cflogd check --patterns $out
      '';

  hasExtraPatterns = patternFiles != [ ];

  finalSettings = lib.recursiveUpdate cfg.settings (
    lib.optionalAttrs hasExtraPatterns {
      patterns.dirs = (cfg.settings.patterns.dirs or [ "/etc/centra-cloud/cflogd/patterns.d" ]) ++ [
        "${extraPatternsDir}"
      ];
    }
  );

  configFile = settingsFormat.generate "cflogd.toml" finalSettings;
in
{
  options.services.cflogd = {
    enable = lib.mkEnableOption "cflogd, the journal classifier of chainfire, flaredb and placement-driver";

    package = lib.mkOption {
      type = lib.types.package;
      default = pkgs.callPackage ./package.nix { };
      defaultText = lib.literalExpression "pkgs.callPackage ./package.nix { }";
      description = "The cflogd package.";
    };

    settings = lib.mkOption {
      type = settingsFormat.type;
      default = { };
      example = lib.literalExpression ''
        {
          units = [ "chainfire.service" "flaredb.service" "placement-driver.service" ];
          journal.initial_position = "1h";
          sink = [
            {
              type = "loki";
              url = "https://loki.example:3100/loki/api/v1/push";
              labels.cluster = "prod";
              bearer_token_file = "/run/credentials/cflogd.service/loki-token";
            }
            {
              type = "slack";
              url_file = "/run/credentials/cflogd.service/slack-url";
              min_severity = "warning";
            }
          ];
        }
      '';
      description = ''
        cflogd.toml as Nix attributes, rendered to TOML (each [[sink]] table
        is an element of the list `sink`). Every key has a default, so { }
        runs with the defaults and no sinks. Unknown keys and bad values stop
        the service with a message naming the key (journalctl -u cflogd).
        Keys: docs/configuration.md. Secrets belong in `credentials`, not here:
        this file is in the world-readable Nix store.
      '';
    };

    extraPatterns = lib.mkOption {
      type = with lib.types; either (listOf path) (attrsOf lines);
      default = [ ];
      example = lib.literalExpression ''
        {
          local = '''
            signatures:
              - id: local.disk_slow
                ...
          ''';
        }
      '';
      description = ''
        Pattern files added to the built-in library (or replacing built-in
        signatures by id): a list of files, or an attribute set of name to
        YAML text. They are checked with `cflogd check --patterns` when the
        system is built, so a broken file fails the build.
      '';
    };

    credentials = lib.mkOption {
      type = with lib.types; attrsOf (either path str);
      default = { };
      example = lib.literalExpression ''
        {
          loki-token = "/run/secrets/cflogd-loki-token";
          slack-url = "/run/secrets/cflogd-slack-url";
        }
      '';
      description = ''
        Secret files passed to the service with LoadCredential= (name = file
        outside the Nix store). The service reads each as
        /run/credentials/cflogd.service/NAME; point the settings' *_file keys
        there (bearer_token_file, basic_auth_password_file, key_file,
        url_file, secret_file). The Debian unit's names: loki-token,
        loki-password, loki-key, alertmanager-token, slack-url, webhook-url,
        webhook-secret.
      '';
    };
  };

  config = lib.mkIf cfg.enable {
    assertions = [
      {
        assertion = lib.all (p: !lib.hasPrefix builtins.storeDir (toString p)) (lib.attrValues cfg.credentials);
        message = "services.cflogd.credentials: keep secrets out of the world-readable Nix store";
      }
    ];

    # cflogd scan, check and explain for operators.
    environment.systemPackages = [ cfg.package ];

    systemd.services.cflogd = {
      description = "cflogd: classify the journal of chainfire, flaredb and placement-driver";
      documentation = [ "man:cflogd(1)" ];
      wantedBy = [ "multi-user.target" ];
      wants = [ "network-online.target" ];
      after = [
        "network-online.target"
        "systemd-journald.service"
      ];
      restartTriggers = [ configFile ];

      serviceConfig = {
        Type = "notify";
        NotifyAccess = "main";
        ExecStart = "${lib.getExe cfg.package} run --config ${configFile}";
        ExecReload = "${pkgs.coreutils}/bin/kill -HUP $MAINPID";
        WatchdogSec = "30s";
        Restart = "on-failure";
        RestartSec = "5s";
        TimeoutStopSec = "30s";

        DynamicUser = true;
        SupplementaryGroups = [ "systemd-journal" ];
        StateDirectory = "cflogd";
        StateDirectoryMode = "0700";
        ConfigurationDirectory = "centra-cloud";
        ConfigurationDirectoryMode = "0755";
        UMask = "0077";
        LoadCredential = lib.mapAttrsToList (name: path: "${name}:${toString path}") cfg.credentials;

        MemoryMax = "256M";
        TasksMax = 128;

        NoNewPrivileges = true;
        CapabilityBoundingSet = "";
        AmbientCapabilities = "";
        ProtectSystem = "strict";
        ProtectHome = true;
        PrivateTmp = true;
        PrivateDevices = true;
        PrivateMounts = true;
        DevicePolicy = "closed";
        ProtectKernelTunables = true;
        ProtectKernelModules = true;
        ProtectKernelLogs = true;
        ProtectControlGroups = true;
        ProtectClock = true;
        ProtectHostname = true;
        ProtectProc = "invisible";
        RestrictAddressFamilies = [
          "AF_UNIX"
          "AF_INET"
          "AF_INET6"
        ];
        RestrictNamespaces = true;
        RestrictRealtime = true;
        RestrictSUIDSGID = true;
        LockPersonality = true;
        MemoryDenyWriteExecute = true;
        RemoveIPC = true;
        KeyringMode = "private";
        SystemCallArchitectures = "native";
        SystemCallFilter = [
          "@system-service"
          "~@privileged @resources"
        ];
        SystemCallErrorNumber = "EPERM";
      };
    };
  };
}
