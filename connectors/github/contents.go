package github

import (
	"context"
	"fmt"
	"net/http"

	gh "github.com/google/go-github/v62/github"

	"github.com/hookflow/hookflow/connectors/apierror"
)

// File is a file read from a repository.
type File struct {
	Path string
	// SHA is the blob's SHA, as needed to update or delete the file.
	SHA     string
	Size    int
	Content []byte
}

// GetFileContents reads path at ref (a branch, tag or SHA; empty means the
// default branch) and returns its decoded content. Files over 1 MB, which
// the contents API describes without content, are read as Git blobs. A
// path that is a directory, a symlink or a submodule is a 422-style
// *apierror.Error; a missing one is GitHub's 404.
func (c *Client) GetFileContents(ctx context.Context, token, owner, repo, path, ref string) (File, error) {
	op := fmt.Sprintf("read %s/%s/%s@%s", owner, repo, path, ref)
	api := c.api(token)
	var opts *gh.RepositoryContentGetOptions
	if ref != "" {
		opts = &gh.RepositoryContentGetOptions{Ref: ref}
	}
	fc, dir, _, err := api.Repositories.GetContents(ctx, owner, repo, path, opts)
	if err != nil {
		return File{}, convert(op, err)
	}
	if fc == nil || dir != nil || fc.GetType() != "file" {
		kind := "a directory"
		if fc != nil {
			kind = "a " + fc.GetType()
		}
		return File{}, &apierror.Error{System: System, Op: op, Status: http.StatusUnprocessableEntity, Message: "the path is " + kind + ", not a file"}
	}
	f := File{Path: fc.GetPath(), SHA: fc.GetSHA(), Size: fc.GetSize()}
	if fc.GetEncoding() == "none" {
		raw, _, err := api.Git.GetBlobRaw(ctx, owner, repo, fc.GetSHA())
		if err != nil {
			return File{}, convert(op, err)
		}
		f.Content = raw
		return f, nil
	}
	s, err := fc.GetContent()
	if err != nil {
		return File{}, convert(op, fmt.Errorf("decode content: %w", err))
	}
	f.Content = []byte(s)
	return f, nil
}
