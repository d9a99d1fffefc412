// Package wecomtest is a local fake of the WeCom APIs HQ uses (gettoken,
// externalcontact/add_msg_template, webhook/send) speaking the same JSON, for tests and
// offline demos. It is a real HTTP server (httptest).
package wecomtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
)

// Message is one add_msg_template request the fake accepted.
type Message struct {
	Sender         string
	ExternalUserID []string
	Text           string
	LinkURL        string
	LinkTitle      string
	Token          string
}

// RobotMessage is one webhook post.
type RobotMessage struct {
	Key     string
	MsgType string
	Content string
}

// Server is the fake. Configure it before use or under its lock via the setters.
type Server struct {
	*httptest.Server
	CorpID, CorpSecret string

	mu         sync.Mutex
	expiresIn  int
	tokenN     int
	valid      map[string]bool
	sendCodes  []int // errcodes to answer the next add_msg_template calls with (FIFO)
	robotCodes []int
	messages   []Message
	robot      []RobotMessage
	sendCalls  int
}

// New starts a fake with the given credentials; tokens last 7200 s.
func New(corpID, corpSecret string) *Server {
	s := &Server{CorpID: corpID, CorpSecret: corpSecret, expiresIn: 7200, valid: map[string]bool{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /cgi-bin/gettoken", s.gettoken)
	mux.HandleFunc("POST /cgi-bin/externalcontact/add_msg_template", s.addMsgTemplate)
	mux.HandleFunc("POST /cgi-bin/webhook/send", s.webhook)
	s.Server = httptest.NewServer(mux)
	return s
}

func reply(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func errmsg(code int) string {
	switch code {
	case 0:
		return "ok"
	case 40014:
		return "invalid access_token"
	case 42001:
		return "access_token expired"
	case 45009:
		return "api freq out of limit"
	case 93000:
		return "invalid webhook url"
	}
	return fmt.Sprintf("error %d", code)
}

func (s *Server) gettoken(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("corpid") != s.CorpID || q.Get("corpsecret") != s.CorpSecret {
		reply(w, map[string]any{"errcode": 40001, "errmsg": "invalid credential"})
		return
	}
	s.mu.Lock()
	s.tokenN++
	tok := fmt.Sprintf("tok-%d", s.tokenN)
	s.valid[tok] = true
	exp := s.expiresIn
	s.mu.Unlock()
	reply(w, map[string]any{"errcode": 0, "errmsg": "ok", "access_token": tok, "expires_in": exp})
}

func (s *Server) addMsgTemplate(w http.ResponseWriter, r *http.Request) {
	var body struct {
		ChatType       string   `json:"chat_type"`
		ExternalUserID []string `json:"external_userid"`
		Sender         string   `json:"sender"`
		Text           struct {
			Content string `json:"content"`
		} `json:"text"`
		Attachments []struct {
			MsgType string `json:"msgtype"`
			Link    struct {
				Title string `json:"title"`
				Desc  string `json:"desc"`
				URL   string `json:"url"`
			} `json:"link"`
		} `json:"attachments"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		reply(w, map[string]any{"errcode": 47001, "errmsg": "data format error"})
		return
	}
	tok := r.URL.Query().Get("access_token")
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sendCalls++
	if !s.valid[tok] {
		reply(w, map[string]any{"errcode": 42001, "errmsg": errmsg(42001)})
		return
	}
	if len(s.sendCodes) > 0 {
		code := s.sendCodes[0]
		s.sendCodes = s.sendCodes[1:]
		if code == 42001 || code == 40014 {
			delete(s.valid, tok)
		}
		if code != 0 {
			reply(w, map[string]any{"errcode": code, "errmsg": errmsg(code)})
			return
		}
	}
	if body.ChatType != "single" || len(body.ExternalUserID) != 1 || body.Sender == "" || len(body.Attachments) != 1 {
		reply(w, map[string]any{"errcode": 41001, "errmsg": "missing or bad fields"})
		return
	}
	m := Message{Sender: body.Sender, ExternalUserID: body.ExternalUserID, Text: body.Text.Content,
		LinkURL: body.Attachments[0].Link.URL, LinkTitle: body.Attachments[0].Link.Title, Token: tok}
	s.messages = append(s.messages, m)
	reply(w, map[string]any{"errcode": 0, "errmsg": "ok", "fail_list": []string{}, "msgid": fmt.Sprintf("msg%d", len(s.messages))})
}

func (s *Server) webhook(w http.ResponseWriter, r *http.Request) {
	var body struct {
		MsgType string `json:"msgtype"`
		Text    struct {
			Content string `json:"content"`
		} `json:"text"`
		Markdown struct {
			Content string `json:"content"`
		} `json:"markdown"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		reply(w, map[string]any{"errcode": 40008, "errmsg": "invalid message type"})
		return
	}
	key := r.URL.Query().Get("key")
	s.mu.Lock()
	defer s.mu.Unlock()
	if key == "" || key == "bad" {
		reply(w, map[string]any{"errcode": 93000, "errmsg": errmsg(93000)})
		return
	}
	if len(s.robotCodes) > 0 {
		code := s.robotCodes[0]
		s.robotCodes = s.robotCodes[1:]
		if code != 0 {
			reply(w, map[string]any{"errcode": code, "errmsg": errmsg(code)})
			return
		}
	}
	content := body.Text.Content
	if body.MsgType == "markdown" {
		content = body.Markdown.Content
	}
	s.robot = append(s.robot, RobotMessage{Key: key, MsgType: body.MsgType, Content: content})
	reply(w, map[string]any{"errcode": 0, "errmsg": "ok"})
}

// QueueSendCodes makes the next add_msg_template calls answer these errcodes (0: normal).
// 42001/40014 also invalidate the token used.
func (s *Server) QueueSendCodes(codes ...int) {
	s.mu.Lock()
	s.sendCodes = append(s.sendCodes, codes...)
	s.mu.Unlock()
}

// QueueRobotCodes makes the next webhook posts answer these errcodes.
func (s *Server) QueueRobotCodes(codes ...int) {
	s.mu.Lock()
	s.robotCodes = append(s.robotCodes, codes...)
	s.mu.Unlock()
}

// ExpireTokens invalidates every issued token (WeCom answers 42001 for them).
func (s *Server) ExpireTokens() { s.mu.Lock(); clear(s.valid); s.mu.Unlock() }

// TokensIssued returns how many gettoken calls succeeded.
func (s *Server) TokensIssued() int { s.mu.Lock(); defer s.mu.Unlock(); return s.tokenN }

// SendCalls returns how many add_msg_template requests arrived.
func (s *Server) SendCalls() int { s.mu.Lock(); defer s.mu.Unlock(); return s.sendCalls }

// Messages returns the accepted messages.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.messages...)
}

// RobotMessages returns the accepted webhook posts.
func (s *Server) RobotMessages() []RobotMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]RobotMessage(nil), s.robot...)
}
