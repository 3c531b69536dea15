namespace Virt.Cpu;

/// <summary>Which execution engines a <see cref="Cpu"/> uses (see <see cref="CpuOptions.ExecutionTier"/>).</summary>
public enum ExecutionTier
{
    /// <summary>Every block runs in the interpreter.</summary>
    Interpreter,

    /// <summary>
    /// Blocks start in the interpreter; a block entered more than <see cref="CpuOptions.CompileThreshold"/> times is compiled
    /// to a .NET method (IL, then native code through the runtime's JIT) and runs compiled from then on, with the same
    /// architectural results, faults and retired counts as the interpreter.
    /// </summary>
    Compiled,
}
