package wecomtest

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"encoding/xml"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Callbacker builds callbacks exactly as WeCom sends them to a callback URL (企业微信
// 回调 加解密). It is written independently of wecom.Crypter so that tests check one
// implementation against the other.
type Callbacker struct {
	Token          string
	EncodingAESKey string // 43 characters
	CorpID         string // the receiveid appended to each plaintext
	// Random, if set, supplies the 16 random prefix bytes (known-answer tests).
	Random func() [16]byte
}

// Encrypt encrypts msg: base64(AES-256-CBC(16 random bytes ‖ BE uint32 len(msg) ‖ msg ‖
// CorpID)), key = base64(EncodingAESKey+"="), IV = key[:16], PKCS#7 padded to 32 bytes.
func (c Callbacker) Encrypt(msg []byte) (string, error) {
	key, err := base64.StdEncoding.DecodeString(c.EncodingAESKey + "=")
	if err != nil || len(key) != 32 {
		return "", fmt.Errorf("wecomtest: bad EncodingAESKey")
	}
	var prefix [16]byte
	if c.Random != nil {
		prefix = c.Random()
	} else if _, err := rand.Read(prefix[:]); err != nil {
		return "", err
	}
	pt := append([]byte{}, prefix[:]...)
	pt = binary.BigEndian.AppendUint32(pt, uint32(len(msg)))
	pt = append(pt, msg...)
	pt = append(pt, c.CorpID...)
	pad := 32 - len(pt)%32
	for range pad {
		pt = append(pt, byte(pad))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return "", err
	}
	ct := make([]byte, len(pt))
	cipher.NewCBCEncrypter(block, key[:16]).CryptBlocks(ct, pt)
	return base64.StdEncoding.EncodeToString(ct), nil
}

// Sign is msg_signature: hex sha1 of the sorted, concatenated token, timestamp, nonce
// and encrypted text.
func (c Callbacker) Sign(timestamp, nonce, encrypt string) string {
	p := []string{c.Token, timestamp, nonce, encrypt}
	sort.Strings(p)
	return fmt.Sprintf("%x", sha1.Sum([]byte(strings.Join(p, ""))))
}

// VerifyURL returns the URL of WeCom's GET check of callbackURL, whose echostr
// encrypts echo.
func (c Callbacker) VerifyURL(callbackURL, echo string) (string, error) {
	enc, err := c.Encrypt([]byte(echo))
	if err != nil {
		return "", err
	}
	ts, nonce := strconv.FormatInt(time.Now().Unix(), 10), strconv.FormatInt(time.Now().UnixNano()%1e9, 10)
	q := url.Values{"msg_signature": {c.Sign(ts, nonce, enc)}, "timestamp": {ts}, "nonce": {nonce}, "echostr": {enc}}
	return callbackURL + "?" + q.Encode(), nil
}

// Event returns the URL (with msg_signature, timestamp, nonce) and XML body of a POST
// carrying the encrypted event XML.
func (c Callbacker) Event(callbackURL string, eventXML []byte) (string, []byte, error) {
	enc, err := c.Encrypt(eventXML)
	if err != nil {
		return "", nil, err
	}
	ts, nonce := strconv.FormatInt(time.Now().Unix(), 10), strconv.FormatInt(time.Now().UnixNano()%1e9, 10)
	q := url.Values{"msg_signature": {c.Sign(ts, nonce, enc)}, "timestamp": {ts}, "nonce": {nonce}}
	body := fmt.Sprintf("<xml><ToUserName><![CDATA[%s]]></ToUserName><Encrypt><![CDATA[%s]]></Encrypt><AgentID><![CDATA[]]></AgentID></xml>", c.CorpID, enc)
	return callbackURL + "?" + q.Encode(), []byte(body), nil
}

// ContactEvent is the XML of a change_external_contact event (changeType e.g.
// add_external_contact, del_external_contact, del_follow_user) as WeCom sends it.
func ContactEvent(corpID, changeType, userID, externalUserID, state string) []byte {
	type cdata struct {
		V string `xml:",cdata"`
	}
	ev := struct {
		XMLName        xml.Name `xml:"xml"`
		ToUserName     cdata
		FromUserName   cdata
		CreateTime     int64
		MsgType        cdata
		Event          cdata
		ChangeType     cdata
		UserID         cdata
		ExternalUserID cdata
		State          *cdata `xml:",omitempty"`
		WelcomeCode    *cdata `xml:",omitempty"`
	}{ToUserName: cdata{corpID}, FromUserName: cdata{"sys"}, CreateTime: time.Now().Unix(), MsgType: cdata{"event"},
		Event: cdata{"change_external_contact"}, ChangeType: cdata{changeType}, UserID: cdata{userID},
		ExternalUserID: cdata{externalUserID}}
	if state != "" {
		ev.State = &cdata{state}
	}
	if changeType == "add_external_contact" {
		ev.WelcomeCode = &cdata{"WELCOMECODE"}
	}
	b, _ := xml.Marshal(ev)
	return b
}
