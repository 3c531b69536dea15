namespace Virt.Cpu.Tests.Conformance;

/// <summary>Counts for one opcode file of the suite.</summary>
internal sealed class OpcodeResult(string key)
{
    public string Key { get; } = key;

    public int Tests { get; set; }

    public int Passed { get; set; }

    public int Failed { get; set; }

    public int Excluded { get; set; }

    /// <summary>Failures listed in the known-failure list (not counted in <see cref="Failed"/>).</summary>
    public int KnownFailures { get; set; }
}
