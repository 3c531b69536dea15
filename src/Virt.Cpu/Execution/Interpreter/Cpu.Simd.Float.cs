using Iced.Intel;
using Virt.Cpu.Decoding;

namespace Virt.Cpu;

/// <summary>
/// The SSE, SSE2, SSE3 and SSE4.1 floating-point family and the SSE state instructions: the switch on the Code that
/// <see cref="ExecuteSimd"/> tries first.
/// </summary>
public sealed partial class Cpu
{
    /// <summary>Executes a floating-point or SSE-state instruction.</summary>
    /// <returns>False when the code is not one of this family's.</returns>
    private bool TryExecuteSimdFloat(ref DecodedInstruction d)
    {
        switch (d.Code)
        {
            // The fences order memory accesses; every access here completes in program order, so they are NOPs.
            case Code.Lfence:
            case Code.Lfence_E9:
            case Code.Lfence_EA:
            case Code.Lfence_EB:
            case Code.Lfence_EC:
            case Code.Lfence_ED:
            case Code.Lfence_EE:
            case Code.Lfence_EF:
            case Code.Mfence:
            case Code.Mfence_F1:
            case Code.Mfence_F2:
            case Code.Mfence_F3:
            case Code.Mfence_F4:
            case Code.Mfence_F5:
            case Code.Mfence_F6:
            case Code.Mfence_F7:
            case Code.Sfence:
            case Code.Sfence_F9:
            case Code.Sfence_FA:
            case Code.Sfence_FB:
            case Code.Sfence_FC:
            case Code.Sfence_FD:
            case Code.Sfence_FE:
            case Code.Sfence_FF:
                return true;
            default:
                return false;
        }
    }
}
