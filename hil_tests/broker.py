"""A real Mosquitto broker for tests, secured like production (fleet/broker_files.py writes its files).

API (fixtures `broker` and `broker_pki` in hil_tests/conftest.py; a new broker per test, ~30 ms):
    broker.host, broker.port          "127.0.0.1" and a free loopback port; TLS only, no plaintext port
    broker.ca_path                    the CA file a client must trust (server cert: localhost, 127.0.0.1)
    broker.url                        "mqtts://127.0.0.1:PORT"
    broker.add_device(id) -> str      a device user (password returned), live after SIGHUP reload (~0.12 s)
    broker.add_devices(*ids) -> dict  many at once, one reload
    broker.remove_device(id)          drop it from the password file + reload (connected clients are cut)
    broker.fleet_credentials          ("fleet.hameau", password): the fleet user (reads all up/status,
                                      writes ack/config/cmd); fleet_user_credentials(1) is a second one
                                      for a second serve process (same user twice = kicked in turn)
    broker.password(user), broker.reload()   a known user's password; SIGHUP and wait until re-read
    broker.client(user, password=None, *, client_id=None, host=None, cafile=<fleet CA>, will=None)
                                      -> MqttProbe (hil_tests/mqtt_probe.py): paho MQTT 5 TLS client,
                                      connected (ConnectRefused otherwise); password None = the known one,
                                      client_id None = user, cafile None = plain TCP, will (topic, bytes, retain);
                                      .publish() -> PUBACK code (0 or 0x10 "no subscriber" = taken, 0x87 =
                                      denied), .subscribe(), .wait_for(topic), .received(), .close();
                                      broker.probe(...) is the same, not yet connected
    broker.restart()                  SIGTERM, then start again on the same port with the same files
    broker.stop() / broker.kill()     SIGTERM / SIGKILL (start() brings it back); broker.running
    broker.log_path, broker.log_text()  the broker's log (Broker(debug_log=True) adds "Denied PUBLISH")
    broker.close()                    kill it, close the clients, delete its files (the fixture does it)
Outside pytest: `with BrokerPki.create() as pki, Broker(pki).start() as broker: ...`.
Missing mosquitto: `require_mosquitto()` skips, or fails when HAMEAU_REQUIRE_MOSQUITTO=1.
Started from the main thread, the broker dies with the test process (setpriv --pdeathsig), even on SIGKILL.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Self

from mqtt_probe import ConnectRefused, MqttProbe, wait_until

from fleet import broker_files

REQUIRE_ENV = "HAMEAU_REQUIRE_MOSQUITTO"  # set to 1 where a missing broker must fail, not skip (CI)
START_TIMEOUT_S = 10.0
HOST = "127.0.0.1"
#: One fleet user per serve process (a second process under the same user would take the first's
#: connection: user name = client id); two, so that tests can run two.
FLEET_USERS = (broker_files.FLEET_USER, f"{broker_files.FLEET_USER}-2")


def mosquitto_path() -> str | None:
    """The mosquitto executable (Debian puts it in /usr/sbin, off a normal user's PATH)."""
    return shutil.which("mosquitto") or next(
        (p for p in ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto") if os.access(p, os.X_OK)), None)


def unavailable_reason() -> str | None:
    """Why a broker cannot be started here, or None."""
    if mosquitto_path() is None:
        return "mosquitto is not installed (apt install mosquitto, or bash scripts/setup --test)"
    if shutil.which("openssl") is None:
        return "the openssl command is not installed (apt install openssl)"
    return None


def require_mosquitto() -> None:
    """Skip with the reason, or fail with it when HAMEAU_REQUIRE_MOSQUITTO=1."""
    import pytest

    reason = unavailable_reason()
    if reason is None:
        return
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{REQUIRE_ENV}=1 but no broker can run: {reason}", pytrace=False)
    pytest.skip(f"real Mosquitto broker unavailable: {reason}")


def _openssl(*args: str, cwd: Path) -> None:
    done = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True, timeout=30, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(args[:2])} failed: {done.stderr.strip()}")


_EC = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")


def _make_ca(directory: Path, name: str) -> None:
    _openssl("req", "-x509", *_EC, "-keyout", f"{name}.key", "-out", f"{name}.crt", "-days", "2",
             "-subj", f"/CN=Hameau test {name}", "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=directory)


def _make_server(directory: Path, name: str, ca: str, san: str) -> None:
    _openssl("req", *_EC, "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", "/CN=hameau-test-broker",
             cwd=directory)
    ext = directory / f"{name}.ext"
    ext.write_text(f"subjectAltName={san}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n"
                   "keyUsage=critical,digitalSignature\n", encoding="utf-8")
    _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.crt", "-CAkey", f"{ca}.key", "-CAcreateserial",
             "-out", f"{name}.crt", "-days", "2", "-extfile", ext.name, cwd=directory)


@dataclass(frozen=True)
class BrokerPki:
    """Throwaway certificates: the fleet CA and its server cert, plus an unrelated CA and odd certs."""

    directory: Path

    @classmethod
    def create(cls) -> BrokerPki:
        """Generate every key and certificate in a new temporary directory (about 0.3 s)."""
        directory = Path(tempfile.mkdtemp(prefix="mosquitto-test-pki-"))
        try:
            _make_ca(directory, "ca")
            _make_ca(directory, "other-ca")
            _make_server(directory, "server", "ca", "DNS:localhost,IP:127.0.0.1")
            _make_server(directory, "other-ca-server", "other-ca", "DNS:localhost,IP:127.0.0.1")
            _make_server(directory, "elsewhere-server", "ca", "DNS:elsewhere.example")
        except BaseException:
            shutil.rmtree(directory, ignore_errors=True)
            raise
        return cls(directory)

    @property
    def ca(self) -> Path:
        """The fleet's CA certificate (what a box trusts)."""
        return self.directory / "ca.crt"

    @property
    def other_ca(self) -> Path:
        """A CA that has nothing to do with the fleet."""
        return self.directory / "other-ca.crt"

    def server(self, which: str) -> tuple[Path, Path]:
        """(cert, key) of "server" (fleet CA), "other-ca-server" or "elsewhere-server" (fleet CA, wrong name)."""
        return self.directory / f"{which}.crt", self.directory / f"{which}.key"

    def remove(self) -> None:
        """Delete every file."""
        shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def _command(conf: Path) -> list[str]:
    """mosquitto -c conf, under `setpriv --pdeathsig KILL` when started from the main thread: the broker
    then dies with the test process even if that is SIGKILLed (the signal follows the forking thread,
    so a broker (re)started from another thread does without it)."""
    command = [mosquitto_path() or "mosquitto", "-c", str(conf)]
    setpriv = shutil.which("setpriv")
    if setpriv is not None and threading.current_thread() is threading.main_thread():
        return [setpriv, "--pdeathsig", "KILL", *command]
    return command


class Broker:
    """One Mosquitto process on a free loopback TLS port, its conf/password/ACL files in a temp dir."""

    def __init__(self, pki: BrokerPki, *, server: str = "server", debug_log: bool = False,
                 persistence: bool = False, sys_interval_s: int = 10, devices_expected: int = 1000,
                 fleet_users: tuple[str, ...] = FLEET_USERS) -> None:
        self.pki = pki
        self.host = HOST
        self.port = 0
        self.directory = Path(tempfile.mkdtemp(prefix="mosquitto-test-"))
        self.log_path = self.directory / "mosquitto.log"
        self.conf_path = self.directory / "mosquitto.conf"
        self.password_path = self.directory / "passwords"
        self.acl_path = self.directory / "acl"
        self._server = server
        self._debug_log = debug_log
        self._persistence = persistence
        self._sys_interval_s = sys_interval_s
        self._devices_expected = devices_expected
        self._process: subprocess.Popen[bytes] | None = None
        self._clients: list[MqttProbe] = []
        self._passwords = {user: broker_files.new_password() for user in fleet_users}
        self._fleet_user = fleet_users[0]
        self._write(self.password_path, "".join(
            broker_files.password_line(user, password) + "\n" for user, password in self._passwords.items()))
        self._write(self.acl_path, broker_files.acl_text(fleet_users))

    @staticmethod
    def _write(path: Path, text: str) -> None:
        tmp = path.with_suffix(".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.chmod(0o600)
        tmp.replace(path)

    # -- properties -------------------------------------------------------------------------------
    @property
    def ca_path(self) -> Path:
        """The CA certificate clients must trust."""
        return self.pki.ca

    @property
    def url(self) -> str:
        """mqtts://host:port of the TLS listener."""
        return f"mqtts://{self.host}:{self.port}"

    @property
    def fleet_credentials(self) -> tuple[str, str]:
        """(user, password) of the (first) fleet controller user."""
        return self._fleet_user, self._passwords[self._fleet_user]

    def fleet_user_credentials(self, n: int) -> tuple[str, str]:
        """(user, password) of fleet user number n (0 = fleet_credentials): one per serve process."""
        user = list(self._passwords)[n]
        return user, self._passwords[user]

    @property
    def running(self) -> bool:
        """Whether the process is alive."""
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int | None:
        """The broker's process id while it runs."""
        return self._process.pid if self.running and self._process is not None else None

    def log_text(self, since: int = 0) -> str:
        """What the broker logged (all its runs), from byte offset `since`."""
        try:
            with open(self.log_path, "rb") as log:
                log.seek(since)
                return log.read().decode("utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def _log_size(self) -> int:
        return self.log_path.stat().st_size if self.log_path.exists() else 0

    # -- life cycle ---------------------------------------------------------------------------------
    def _conf(self) -> str:
        cert, key = self.pki.server(self._server)
        types = ("all",) if self._debug_log else ("error", "warning", "notice", "information", "subscribe")
        settings = broker_files.BrokerSettings(
            port=self.port, bind_address=self.host, cafile=str(self.pki.ca), certfile=str(cert), keyfile=str(key),
            password_file=str(self.password_path), acl_file=str(self.acl_path),
            devices_expected=self._devices_expected,
            persistence_dir=str(self.directory / "data") if self._persistence else None,
            log_file=str(self.log_path), log_types=types, run_as_user=pwd.getpwuid(os.geteuid()).pw_name,
            sys_interval_s=self._sys_interval_s)
        return broker_files.mosquitto_conf(settings)

    def start(self) -> Self:
        """Start (or start again, same port) and wait until it listens; RuntimeError with its log if not."""
        if self.running:
            return self
        fresh = self.port == 0
        for attempt in range(3):
            if fresh:
                self.port = _free_port()
            elif attempt:
                time.sleep(0.2)
            self._write(self.conf_path, self._conf())
            if self._persistence:
                (self.directory / "data").mkdir(exist_ok=True)
            log_at = self._log_size()
            self._process = subprocess.Popen(
                _command(self.conf_path), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL, cwd=self.directory)
            if wait_until(lambda at=log_at: " running" in self.log_text(at) or not self.running,
                          START_TIMEOUT_S, 0.002) and self.running:
                return self
            self._reap()
            if "Address already in use" not in self.log_text(log_at):
                break
        raise RuntimeError(f"mosquitto did not start on port {self.port}; its log:\n{self.log_text()[-3000:]}")

    def _reap(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
        if self._process is not None:
            self._process.wait(10)

    def stop(self, timeout_s: float = 10.0) -> None:
        """SIGTERM and wait (SIGKILL after `timeout_s`)."""
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(10)

    def kill(self) -> None:
        """SIGKILL: the broker dies at once (what a persistent broker saved last survives)."""
        self._reap()

    def restart(self) -> Self:
        """Stop and start again on the same port with the same files."""
        self.stop()
        return self.start()

    def close(self) -> None:
        """Close every client, kill the broker, remove its files."""
        for client in self._clients:
            client.close()
        self._clients.clear()
        self._reap()
        shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- users ------------------------------------------------------------------------------------
    def add_device(self, device: str, password: str | None = None) -> str:
        """Add (or re-key) a device user and reload (~0.12 s); returns its password."""
        return self.add_devices(device, passwords={device: password} if password else None)[device]

    def add_devices(self, *devices: str, passwords: dict[str, str] | None = None) -> dict[str, str]:
        """Add many device users with one reload; {device: password}."""
        added = {device: (passwords or {}).get(device) or broker_files.new_password() for device in devices}
        lines = [broker_files.password_line(device, password) for device, password in added.items()]
        kept = [line for line in self.password_path.read_text(encoding="utf-8").splitlines()
                if line.strip() and line.partition(":")[0] not in added]  # one pass: thousands of devices at once
        self._write(self.password_path, "\n".join([*kept, *lines]) + "\n")
        self._passwords.update(added)
        self.reload()
        return added

    def remove_device(self, device: str) -> None:
        """Remove a device user and reload: it can no longer log in."""
        text = broker_files.remove_user(self.password_path.read_text(encoding="utf-8"), device)
        self._write(self.password_path, text)
        self._passwords.pop(device, None)
        self.reload()

    def reload(self) -> None:
        """SIGHUP (re-read password and ACL files) and wait until the broker has done it."""
        if not self.running or self._process is None:
            return
        log_at = self._log_size()
        self._process.send_signal(signal.SIGHUP)
        if not wait_until(lambda: "Reloading config" in self.log_text(log_at), START_TIMEOUT_S, 0.002):
            raise RuntimeError("mosquitto did not log its reload after SIGHUP")
        # The reload runs in the broker's main loop: a CONNECT answered after the log line proves it is
        # done. An unknown user, so that no session is taken over (user name = client id).
        try:
            self.client("reload.probe", "-").close()
        except ConnectRefused:
            pass

    def password(self, user: str) -> str:
        """The password of a user this broker created."""
        return self._passwords[user]

    # -- clients ----------------------------------------------------------------------------------
    def probe(self, user: str | None, password: str | None = None, *, client_id: str | None = None,
              host: str | None = None, cafile: str | Path | None = "default",
              will: tuple[str, bytes, bool] | None = None) -> MqttProbe:
        """An unconnected MqttProbe (cafile None = plain TCP; password None = the user's own)."""
        if password is None and user is not None:
            password = self._passwords.get(user)
        ca = str(self.pki.ca) if cafile == "default" else (None if cafile is None else str(cafile))
        probe = MqttProbe(host or self.host, self.port, username=user, password=password,
                          client_id=client_id if client_id is not None else (user or ""), cafile=ca, will=will)
        self._clients.append(probe)
        return probe

    def client(self, user: str | None, password: str | None = None, **options: object) -> MqttProbe:
        """A connected MqttProbe; ConnectRefused (or an ssl error) when the broker will not have it."""
        return self.probe(user, password, **options).connect()  # type: ignore[arg-type]


__all__ = ["Broker", "BrokerPki", "ConnectRefused", "MqttProbe", "require_mosquitto", "unavailable_reason"]
