using System.IO.Pipelines;

namespace Virt.Devices;

/// <summary>A reader and a writer paired as one connection.</summary>
internal sealed class DuplexPipe(PipeReader input, PipeWriter output) : IDuplexPipe
{
    public PipeReader Input { get; } = input;

    public PipeWriter Output { get; } = output;
}
