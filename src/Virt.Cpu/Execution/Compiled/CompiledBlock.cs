using Virt.Cpu.Decoding;

namespace Virt.Cpu;

/// <summary>
/// The compiled form of one <see cref="DecodedBlock"/>, attached to its <see cref="DecodedBlock.CompiledEntry"/>: a
/// delegate to the method <see cref="BlockCompiler"/> generated for it, with the same contract as the interpreter
/// (<see cref="IExecutionEngine"/>).
/// </summary>
internal sealed class CompiledBlock : IExecutionEngine
{
    /// <summary>Wraps generated code.</summary>
    /// <param name="cpu">The CPU the code runs on.</param>
    /// <param name="code">The generated method, closed over the CPU: (block, count) to instructions started.</param>
    /// <param name="sizeInBytes">The estimate of the host memory it holds (see <see cref="CompiledTierStatistics.CodeSizeInBytes"/>).</param>
    public CompiledBlock(Cpu cpu, Func<DecodedBlock, int, int> code, long sizeInBytes)
    {
        Cpu = cpu;
        Code = code;
        SizeInBytes = sizeInBytes;
    }

    /// <summary>The CPU the code was compiled for.</summary>
    public Cpu Cpu { get; }

    /// <summary>The generated method, closed over <see cref="Cpu"/>.</summary>
    public Func<DecodedBlock, int, int> Code { get; }

    /// <summary>The estimated host memory it holds.</summary>
    public long SizeInBytes { get; }

    /// <inheritdoc/>
    public int Execute(DecodedBlock block, int count) => Code(block, count);
}
