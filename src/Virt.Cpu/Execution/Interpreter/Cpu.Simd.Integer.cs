using Virt.Cpu.Decoding;

namespace Virt.Cpu;

/// <summary>
/// The MMX, SSE2 integer, SSSE3, SSE4.1 integer and SSE4.2 family: the switch on the Code that <see cref="ExecuteSimd"/>
/// tries after the floating-point family.
/// </summary>
public sealed partial class Cpu
{
    /// <summary>Executes an integer SIMD instruction.</summary>
    /// <returns>False when the code is not one of this family's.</returns>
    private bool TryExecuteSimdInteger(ref DecodedInstruction d)
    {
        switch (d.Code)
        {
            default:
                return false;
        }
    }
}
