"""``valuealign chat``: one prompt to one model, the quickest check of a binding."""

from __future__ import annotations

import asyncio

import click

from valuealign.cli._options import backend_kwargs, backend_options


@click.command()
@click.option(
    "--model",
    "-m",
    required=True,
    metavar="PROVIDER/MODEL",
    help="e.g. hf/smollm2-135m-instruct, openai/gpt-4o-mini, mock/echo",
)
@click.option("--system", "-s", default=None, help="System prompt.")
@click.option("--max-tokens", type=click.IntRange(1), default=256, show_default=True)
@click.option("--temperature", type=click.FloatRange(0, 2), default=0.0, show_default=True)
@click.option("--seed", type=int, default=None)
@backend_options
@click.argument("prompt")
def chat(
    model: str,
    system: str | None,
    max_tokens: int,
    temperature: float,
    seed: int | None,
    prompt: str,
    **opts: object,
) -> None:
    """Send PROMPT to a model and print the reply."""
    from valuealign.backends import GenerateConfig, aclose_all, get_backend, user

    backend = get_backend(model, **backend_kwargs(dict(opts)))
    config = GenerateConfig(max_tokens=max_tokens, temperature=temperature, seed=seed)

    # hf/ and openai/ models print as they go (whole characters only); the others at the end
    streaming = hasattr(backend, "generate_streaming")

    async def ask():
        try:
            if streaming:
                return await backend.generate_streaming(
                    user(prompt, system), config, lambda text: click.echo(text, nl=False)
                )
            return await backend.generate(user(prompt, system), config)
        finally:
            await aclose_all(backend)

    completion = asyncio.run(ask())
    click.echo("" if streaming else completion.text)  # the streamed text is out already
    if completion.finish_reason == "length":
        click.echo(f"[stopped at --max-tokens {max_tokens}]", err=True)
