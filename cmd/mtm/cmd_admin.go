package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"golang.org/x/term"

	"mtm/internal/admin"
	"mtm/internal/catalog"
	"mtm/internal/i18n"
)

func runAdmin(ctx context.Context, env *environment, args []string) error {
	if err := subcommandHelp(env, "admin", args); err != nil {
		return err
	}
	if len(args) == 0 {
		return fmt.Errorf("%w: admin add|list|remove|reset-2fa", errUsage)
	}
	switch args[0] {
	case "add":
		return runAdminAdd(ctx, env, args[1:])
	case "list":
		return runAdminList(ctx, env, args[1:])
	case "remove":
		return runAdminRemove(ctx, env, args[1:])
	case "reset-2fa":
		return runAdminReset2FA(ctx, env, args[1:])
	}
	return fmt.Errorf("%w: unknown admin command %q (add, list, remove, reset-2fa)", errUsage, args[0])
}

func runAdminAdd(ctx context.Context, env *environment, args []string) error {
	fs, cfgPath := newFlags(env, "admin add")
	email := fs.String("email", "", "the admin's email address, used to log in and to notify (required)")
	var domains multiFlag
	fs.Var(&domains, "domain", "a domain whose accounts' requests the admin decides (repeatable); none: every domain")
	lang := fs.String("language", "", "the language of the admin's emails and panel: en or it; none: the configured language")
	if err := parse(fs, args); err != nil {
		return err
	}
	scope, err := admin.NewScope(*email, domains)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if *lang != "" && !i18n.Supported(*lang) {
		return fmt.Errorf("%w: --language %q: not one of %s", errUsage, *lang, strings.Join(i18n.Codes, ", "))
	}
	row := catalog.AdminRow{Email: scope.Email, Domains: scope.Domains, Language: *lang}
	pw, err := readPassword(env, row.Email)
	if err != nil {
		return err
	}
	if row.PasswordHash, err = admin.Hash(pw, admin.DefaultParams); err != nil {
		return err
	}
	return withCatalog(ctx, env, *cfgPath, func(cat *catalog.DB) error {
		if err := cat.AddAdmin(ctx, row); err != nil {
			return err
		}
		scope := "every domain"
		if len(row.Domains) > 0 {
			scope = strings.Join(row.Domains, ", ")
		}
		fmt.Fprintf(env.stdout, "added admin %s for %s\n", row.Email, scope)
		return nil
	})
}

// readPassword reads the new password: twice, without echo, from a
// terminal; otherwise the first line of standard input.
func readPassword(env *environment, email string) (string, error) {
	if f, ok := env.stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(env.stderr, "password: ")
		a, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(env.stderr)
		if err != nil {
			return "", err
		}
		fmt.Fprint(env.stderr, "again: ")
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(env.stderr)
		if err != nil {
			return "", err
		}
		if string(a) != string(b) {
			return "", errors.New("the passwords differ")
		}
		return string(a), admin.CheckNewPassword(string(a), email)
	}
	if env.stdin == nil {
		return "", errors.New("no password: give it on standard input")
	}
	line, err := bufio.NewReader(env.stdin).ReadString('\n')
	if err != nil && line == "" {
		return "", fmt.Errorf("reading the password from standard input: %w", err)
	}
	pw := strings.TrimRight(line, "\r\n")
	return pw, admin.CheckNewPassword(pw, email)
}

func runAdminList(ctx context.Context, env *environment, args []string) error {
	fs, cfgPath := newFlags(env, "admin list")
	if err := parse(fs, args); err != nil {
		return err
	}
	return withCatalog(ctx, env, *cfgPath, func(cat *catalog.DB) error {
		admins, err := cat.Admins(ctx)
		if err != nil {
			return err
		}
		for _, a := range admins {
			scope := "all domains"
			if len(a.Domains) > 0 {
				scope = strings.Join(a.Domains, " ")
			}
			// An admin added before addresses were checked may not be
			// reachable: say so, as their emails are left out.
			if n, err := admin.NormalizeAddress(a.Email); err != nil || n != a.Email {
				why := "not in its normal form " + n
				if err != nil {
					why = err.Error()
				}
				scope += "\tCANNOT RECEIVE EMAIL: " + why + " (remove the admin and add it again)"
			}
			fmt.Fprintf(env.stdout, "%s\t%s\n", a.Email, scope)
		}
		return nil
	})
}

func runAdminRemove(ctx context.Context, env *environment, args []string) error {
	fs, cfgPath := newFlags(env, "admin remove")
	email := fs.String("email", "", "the admin to remove (required)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *email == "" {
		return fmt.Errorf("%w: --email is required", errUsage)
	}
	return withCatalog(ctx, env, *cfgPath, func(cat *catalog.DB) error {
		if err := cat.RemoveAdmin(ctx, *email); err != nil {
			return err
		}
		fmt.Fprintf(env.stdout, "removed admin %s\n", *email)
		return nil
	})
}

// withCatalog opens the data directory of the config and runs fn on its
// catalog.
func withCatalog(ctx context.Context, env *environment, cfgPath string, fn func(*catalog.DB) error) error {
	op, err := openCommand(ctx, env, cfgPath, openOptions{})
	if err != nil {
		return err
	}
	st := op.st
	return errors.Join(fn(st.Catalog), st.Close())
}

// runAdminReset2FA clears an admin's second factor and recovery codes (a
// lost phone): their next login sets it up again. It is recorded.
func runAdminReset2FA(ctx context.Context, env *environment, args []string) error {
	fs, cfgPath := newFlags(env, "admin reset-2fa")
	email := fs.String("email", "", "the admin whose second factor to clear (required)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *email == "" {
		return fmt.Errorf("%w: --email is required", errUsage)
	}
	return withCatalog(ctx, env, *cfgPath, func(cat *catalog.DB) error {
		if err := cat.ResetAdminTOTP(ctx, *email); err != nil {
			return err
		}
		if err := cat.Audit(ctx, catalog.AuditEvent{Actor: operatorName(), Role: catalog.RoleOperator, Action: "admin-2fa-reset",
			Detail: "the second factor of " + strings.ToLower(*email)}); err != nil {
			return err
		}
		fmt.Fprintf(env.stdout, "cleared the second factor of %s: their next login sets it up again\n", strings.ToLower(*email))
		return nil
	})
}
