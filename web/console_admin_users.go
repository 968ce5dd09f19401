package web

import (
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"
	"github.com/trackd/trackd/console"
	"github.com/trackd/trackd/templates"
)

// adminMaxName is the longest user or key name: a person's or a system's
// name, with room to spare.
const adminMaxName = 100

// adminUserNotices say what a change did, after its redirect; the email is
// the query's, and only ever shown as text.
var adminUserNotices = map[string]string{
	"created":  "Added %s.",
	"role":     "Changed the role of %s.",
	"password": "Reset the password of %s.",
	"deleted":  "Deleted %s.",
}

// adminUsers is GET /console/users: every user and the forms to change them.
func (s *Server) adminUsers(c *fiber.Ctx) error {
	notice := ""
	if f, ok := adminUserNotices[c.Query("done")]; ok {
		notice = fmt.Sprintf(f, console.NormalizeEmail(c.Query("email")))
	}
	return s.adminUsersPage(c, fiber.StatusOK, notice, "", templates.AdminUser{Role: string(console.Marketing)})
}

// adminUsersPage renders the users page with status, a notice or an error,
// and the create form's values.
func (s *Server) adminUsersPage(c *fiber.Ctx, status int, notice, errMsg string, form templates.AdminUser) error {
	users, err := s.deps.Console.Users.List(c.UserContext())
	if err != nil {
		return adminUnavailable(err)
	}
	rows := make([]templates.AdminUser, len(users))
	for i, u := range users {
		rows[i] = templates.AdminUser{Email: u.Email, Name: u.Name, Role: string(u.Role), CreatedAt: u.CreatedAt}
	}
	c.Status(status)
	return s.consolePage(c, templates.AdminUsersPage(templates.AdminUsersProps{
		Console: s.consoleProps(c, "Users", "users"), Users: rows, Self: adminSelf(c), Roles: roleNames(),
		MinPassword: console.MinPasswordLength, Notice: notice, Error: errMsg, New: form}))
}

// adminUserDone sends the browser back to the users page, saying what was
// done (post, redirect, get: a reload does not repeat the change).
func adminUserDone(c *fiber.Ctx, done, email string) error {
	return c.Redirect("/console/users?done="+done+"&email="+url.QueryEscape(email), fiber.StatusSeeOther)
}

// adminFieldMessage words a store's field error for the page.
func adminFieldMessage(err error) (string, bool) {
	var fe *console.FieldError
	if !errors.As(err, &fe) {
		return "", false
	}
	field := fe.Field
	if field != "" {
		field = strings.ToUpper(field[:1]) + field[1:]
	}
	return field + ": " + fe.Message + ".", true
}

// adminCreateUser is POST /console/users.
func (s *Server) adminCreateUser(c *fiber.Ctx) error {
	form := templates.AdminUser{Email: console.NormalizeEmail(c.FormValue("email")),
		Name: strings.TrimSpace(c.FormValue("name")), Role: c.FormValue("role")}
	// An address with a display name ("Ada <ada@example.com>") is not an
	// email a user signs in with.
	if addr, err := mail.ParseAddress(form.Email); err == nil && addr.Address != form.Email {
		return s.adminUsersPage(c, fiber.StatusBadRequest, "", "Email: only the address, as in ada@example.com.", form)
	}
	if utf8.RuneCountInString(form.Name) > adminMaxName {
		return s.adminUsersPage(c, fiber.StatusBadRequest, "", fmt.Sprintf("Name: at most %d characters.", adminMaxName), form)
	}
	user, err := s.deps.Console.Users.Create(c.UserContext(), form.Email, form.Name, console.Role(form.Role),
		c.FormValue("password"), s.deps.Now())
	if msg, ok := adminFieldMessage(err); ok {
		return s.adminUsersPage(c, fiber.StatusBadRequest, "", msg, form)
	}
	if errors.Is(err, console.ErrExists) {
		return s.adminUsersPage(c, fiber.StatusConflict, "", "There is already a user "+form.Email+".", form)
	}
	if err != nil {
		return adminUnavailable(err)
	}
	s.audit(c, "create user", user.Email, "role "+string(user.Role))
	return adminUserDone(c, "created", user.Email)
}

// adminTargetUser reads the user a change is for; a refusal is rendered
// and returned as done.
func (s *Server) adminTargetUser(c *fiber.Ctx) (console.User, bool, error) {
	email := console.NormalizeEmail(c.FormValue("email"))
	user, err := s.deps.Console.Users.Get(c.UserContext(), email)
	if errors.Is(err, console.ErrNotFound) || (err == nil && email == "") {
		return console.User{}, true, s.adminUsersPage(c, fiber.StatusNotFound, "", "There is no user "+email+".", templates.AdminUser{})
	}
	if err != nil {
		return console.User{}, true, adminUnavailable(err)
	}
	return user, false, nil
}

// adminChangeRole is POST /console/users/role. An admin cannot demote
// themself, so the console always keeps an admin: the one acting.
func (s *Server) adminChangeRole(c *fiber.Ctx) error {
	user, done, err := s.adminTargetUser(c)
	if done {
		return err
	}
	role := console.Role(c.FormValue("role"))
	if user.Email == adminSelf(c) && role != console.Admin {
		return s.adminUsersPage(c, fiber.StatusBadRequest, "", "You cannot take away your own admin role: ask another admin.", templates.AdminUser{})
	}
	if role == user.Role {
		return adminUserDone(c, "role", user.Email)
	}
	updated, err := s.deps.Console.Users.Update(c.UserContext(), user.Email, role, "")
	if msg, ok := adminFieldMessage(err); ok {
		return s.adminUsersPage(c, fiber.StatusBadRequest, "", msg, templates.AdminUser{})
	}
	if err != nil {
		return adminUnavailable(err)
	}
	s.audit(c, "change role", updated.Email, string(user.Role)+" → "+string(updated.Role))
	return adminUserDone(c, "role", updated.Email)
}

// adminResetPassword is POST /console/users/password.
func (s *Server) adminResetPassword(c *fiber.Ctx) error {
	user, done, err := s.adminTargetUser(c)
	if done {
		return err
	}
	password := c.FormValue("password")
	if password == "" {
		return s.adminUsersPage(c, fiber.StatusBadRequest, "", "Password: enter the new password.", templates.AdminUser{})
	}
	if _, err := s.deps.Console.Users.Update(c.UserContext(), user.Email, user.Role, password); err != nil {
		if msg, ok := adminFieldMessage(err); ok {
			return s.adminUsersPage(c, fiber.StatusBadRequest, "", msg, templates.AdminUser{})
		}
		return adminUnavailable(err)
	}
	s.audit(c, "reset password", user.Email, "")
	return adminUserDone(c, "password", user.Email)
}

// adminDeleteUser is POST /console/users/delete. An admin cannot delete
// themself. The user's sessions end with them: every console request
// reads the session's user.
func (s *Server) adminDeleteUser(c *fiber.Ctx) error {
	user, done, err := s.adminTargetUser(c)
	if done {
		return err
	}
	if user.Email == adminSelf(c) {
		return s.adminUsersPage(c, fiber.StatusBadRequest, "", "You cannot delete yourself: ask another admin.", templates.AdminUser{})
	}
	if c.FormValue("confirm") != "yes" {
		return s.adminUsersPage(c, fiber.StatusBadRequest, "", "Tick “sure” to delete "+user.Email+".", templates.AdminUser{})
	}
	if err := s.deps.Console.Users.Delete(c.UserContext(), user.Email); err != nil {
		return adminUnavailable(err)
	}
	s.audit(c, "delete user", user.Email, "role "+string(user.Role))
	return adminUserDone(c, "deleted", user.Email)
}
