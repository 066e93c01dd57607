"""ExternalMotionModel with real transports: a script run as a subprocess and a local HTTP
server on 127.0.0.1 (no mocks)."""

from __future__ import annotations

import io
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import numpy as np
import pytest

from mmexpert.motion.external import ExternalModelError, ExternalMotionModel
from mmexpert.motion.skeleton import JOINT_INDEX

# A stand-in "text-to-motion model": writes a HumanML3D-style Y-up clip whose walking speed
# is the number of words in the text [m/s] (so the test can tell the text arrived intact).
MODEL_SCRIPT = """
import sys
import numpy as np
text, out, duration = sys.argv[1], sys.argv[2], float(sys.argv[3])
frames = int(duration * 20) + 1
joints = np.zeros((frames, 22, 3))
joints[:, :, 1] = 0.9
joints[:, 15, 1] = 1.6
joints[:, [7, 8, 10, 11], 1] = 0.05
joints[:, 1, 0], joints[:, 2, 0] = 0.1, -0.1
joints[:, :, 2] += (len(text.split()) * np.arange(frames) / 20.0)[:, None]
np.save(out, joints)
"""


def humanml3d_clip(speed: float, frames: int = 41) -> np.ndarray:
    joints = np.zeros((frames, 22, 3))
    joints[:, :, 1] = 0.9
    joints[:, JOINT_INDEX["head"], 1] = 1.6
    joints[:, [7, 8, 10, 11], 1] = 0.05
    joints[:, :, 2] += (speed * np.arange(frames) / 20.0)[:, None]
    return joints


def pelvis_speed(motion) -> float:
    return float(np.linalg.norm(motion.velocities_at(np.array([1.0]))[0, 0]))


def test_command_model(tmp_path: Path) -> None:
    script = tmp_path / "t2m.py"
    script.write_text(MODEL_SCRIPT)
    model = ExternalMotionModel(
        command=(sys.executable, str(script), "{text}", "{out}", "{duration}")
    )
    motion = model.generate("a person walks; quickly", duration_s=2.0)  # 4 words, shell chars
    assert motion.fps == 20.0 and motion.num_frames == 41
    assert pelvis_speed(motion) == pytest.approx(4.0, rel=1e-6)
    assert motion.joints_m[:, [7, 8, 10, 11], 2].min() == pytest.approx(0.02)


def test_command_failures_are_explained(tmp_path: Path) -> None:
    failing = tmp_path / "fail.py"
    failing.write_text("import sys; sys.stderr.write('CUDA out of memory'); sys.exit(3)")
    with pytest.raises(ExternalModelError, match="status 3: CUDA out of memory"):
        ExternalMotionModel(command=(sys.executable, str(failing), "{text}", "{out}")).generate("x")
    silent = tmp_path / "silent.py"
    silent.write_text("pass")
    with pytest.raises(ExternalModelError, match="wrote no file"):
        ExternalMotionModel(command=(sys.executable, str(silent), "{text}", "{out}")).generate("x")
    wrong = tmp_path / "wrong.py"
    wrong.write_text("import sys, numpy; numpy.save(sys.argv[2], numpy.zeros((5, 263)))")
    with pytest.raises(ExternalModelError, match="shape"):
        ExternalMotionModel(command=(sys.executable, str(wrong), "{text}", "{out}")).generate("x")
    with pytest.raises(ExternalModelError, match="exactly one"):
        ExternalMotionModel()
    with pytest.raises(ExternalModelError, match="cannot start"):
        ExternalMotionModel(command=("/nonexistent/t2m", "{out}")).generate("x")


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        speed = len(request["text"].split())
        if self.path == "/json":
            body = json.dumps({"joints": humanml3d_clip(speed).tolist(), "fps": 20.0}).encode()
            content_type = "application/json"
        elif self.path == "/npy":
            buffer = io.BytesIO()
            np.save(buffer, humanml3d_clip(speed))
            body, content_type = buffer.getvalue(), "application/octet-stream"
        elif self.path == "/centimetres":
            body = json.dumps({"joints": (100 * humanml3d_clip(speed)).tolist()}).encode()
            content_type = "application/json"
        else:
            self.send_error(404, "no such model")
            return
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def server():
    httpd = HTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_http_model_json_and_npy(server: str) -> None:
    for route in ("/json", "/npy"):
        motion = ExternalMotionModel(url=server + route, timeout_s=10).generate("walk two three")
        assert motion.num_frames == 41
        assert pelvis_speed(motion) == pytest.approx(3.0, rel=1e-6)
        velocity = motion.velocities_at(np.array([1.0]))[0, 0]
        assert velocity[1] < 0  # HumanML3D +Z became our -y


def test_http_errors_are_explained(server: str) -> None:
    with pytest.raises(ExternalModelError, match="HTTP 404"):
        ExternalMotionModel(url=server + "/missing", timeout_s=10).generate("wave")
    with pytest.raises(ExternalModelError, match="not a person in metres"):
        ExternalMotionModel(url=server + "/centimetres", timeout_s=10).generate("wave")
    with pytest.raises(ExternalModelError, match="cannot reach"):
        ExternalMotionModel(url="http://127.0.0.1:9/none", timeout_s=2).generate("wave")
