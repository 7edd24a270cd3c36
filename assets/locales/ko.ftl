# 한국어 화면. 여기 있는 메시지마다 en.ftl에 짝이 있다 (테스트가 확인한다).

## 시작 화면
launcher-tagline = 캐치마인드 — 한 명이 그리고, 모두가 맞힌다
launcher-nickname = 닉네임
launcher-nickname-hint = 1~24자
launcher-join-title = 게임 참가
launcher-address = 주소
launcher-address-hint = 호스트의 IP 또는 이름
launcher-port = 포트
launcher-room = 방
launcher-room-hint = 선택: 비우면 로비
launcher-watch-only = 관전만 하기 (관전자로 참가)
launcher-connect = 접속
launcher-rooms = 방 목록…
launcher-rooms-hover = 이 서버의 방 목록 보기
launcher-recent = 최근
launcher-recent-hover = 다시 참가
launcher-host-title = 게임 열기
launcher-host = 열기
launcher-host-note = 나도 함께 하고, 다른 사람은 내 주소로 참가합니다.
launcher-error-nickname = 닉네임: { $why }.
launcher-error-room = 방: { $why }.
launcher-error-port = 포트는 1~65535 사이의 숫자여야 합니다.
launcher-error-address = 호스트의 주소를 입력하세요 (예: 192.168.0.10).
launcher-error-host = 게임을 열 수 없습니다: { $why }.

## 방 목록
rooms-title = { $addr }의 방
rooms-back = 뒤로
rooms-watch-only = 관전만
rooms-stopped = 목록이 멈췄습니다: { $why }
rooms-unreachable = 방 목록을 가져올 수 없습니다: { $why }
rooms-try-again = 다시 시도
rooms-asking = 서버에 방 목록을 묻는 중…
rooms-fullest = 방 { $total }개 중 사람이 많은 { $shown }개. 2초마다 새로 고침.
rooms-refreshed = 2초마다 새로 고침.
rooms-new-room = 새 방
rooms-new-room-hint = 방 이름
rooms-create = 만들기
rooms-none = 아직 방이 없습니다: 아래에서 만드세요.
rooms-col-room = 방
rooms-col-players = 인원
rooms-col-now = 지금
rooms-col-words = 단어
rooms-watching = { $count }명 관전
rooms-in-game = 게임 중
rooms-free-drawing = 자유 그리기
rooms-join = 참가
rooms-watch = 관전
rooms-full = 방이 꽉 찼습니다
rooms-no-spectator-place = 관전 자리가 없습니다
rooms-lang-ko = 한국어
rooms-lang-en = 영어
rooms-lang-custom = 자체 단어

## 앨범
album-title = 이번 게임의 앨범
album-drawn-by = { $name } 그림
album-nobody-found = 아무도 못 맞힘
album-found-by = 맞힌 사람: { $names }
album-replay = ▶ 다시 보기
album-replay-hover = 다시 보기
album-nothing-drawn = 그린 것이 없음
album-no-longer-kept = 더 이상 보관되지 않음
album-heading = { $word } — { $name } 그림
album-cut-short = 아주 긴 턴이라 서버가 앞부분만 보관했습니다.
album-pause = ⏸ 일시 정지
album-play = ▶ 재생
album-start = ⏮ 처음으로
album-back = 앨범으로 돌아가기
album-save-png = 💾 PNG 저장
album-save-timelapse = 🎞 타임랩스 저장
album-save-timelapse-hover = 움직이는 PNG: 그린 시간 0.5초마다 한 장, 초당 10장
album-saving = 저장 중…
album-saved = 저장한 곳: { $path }
