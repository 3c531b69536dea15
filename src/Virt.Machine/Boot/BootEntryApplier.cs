using Virt.Cpu;
using X86Cpu = Virt.Cpu.Cpu;

namespace Virt.Machine.Boot;

/// <summary>Puts the CPU into the state a boot loader's <see cref="BootEntryState"/> describes.</summary>
internal static class BootEntryApplier
{
    public static void Apply(Machine machine, BootEntryState entry)
    {
        X86Cpu cpu = machine.Cpu;
        cpu.SetRegister(GeneralRegister.Rax, entry.Eax);
        cpu.SetRegister(GeneralRegister.Rbx, entry.Ebx);
        cpu.SetRegister(GeneralRegister.Rcx, entry.Ecx);
        cpu.SetRegister(GeneralRegister.Rdx, entry.Edx);
        cpu.SetRegister(GeneralRegister.Rsi, entry.Esi);
        cpu.SetRegister(GeneralRegister.Rdi, entry.Edi);
        cpu.SetRegister(GeneralRegister.Rbp, entry.Ebp);
        cpu.SetRegister(GeneralRegister.Rsp, entry.Esp);
        cpu.Flags = entry.Eflags;
        if (entry.Mode == BootCpuMode.RealMode)
        {
            cpu.LoadSegmentRealMode(SegmentRegister.Cs, entry.Cs);
            cpu.LoadSegmentRealMode(SegmentRegister.Ds, entry.Ds);
            cpu.LoadSegmentRealMode(SegmentRegister.Es, entry.Es);
            cpu.LoadSegmentRealMode(SegmentRegister.Fs, entry.Fs);
            cpu.LoadSegmentRealMode(SegmentRegister.Gs, entry.Gs);
            cpu.LoadSegmentRealMode(SegmentRegister.Ss, entry.Ss);
        }
        else
        {
            // Flat 32-bit protected mode, as the Linux and Multiboot protocols require: GDTR points at the boot GDT the
            // loader placed in guest memory, and the descriptor caches hold what loading its descriptors would give.
            cpu.GdtBase = entry.GdtBase;
            cpu.GdtLimit = entry.GdtLimit;
            cpu.Cr0 |= 1;
            cpu.LoadSegmentFromDescriptor(SegmentRegister.Cs, entry.Cs, BootGdt.CodeDescriptor);
            cpu.LoadSegmentFromDescriptor(SegmentRegister.Ds, entry.Ds, BootGdt.DataDescriptor);
            cpu.LoadSegmentFromDescriptor(SegmentRegister.Es, entry.Es, BootGdt.DataDescriptor);
            cpu.LoadSegmentFromDescriptor(SegmentRegister.Fs, entry.Fs, BootGdt.DataDescriptor);
            cpu.LoadSegmentFromDescriptor(SegmentRegister.Gs, entry.Gs, BootGdt.DataDescriptor);
            cpu.LoadSegmentFromDescriptor(SegmentRegister.Ss, entry.Ss, BootGdt.DataDescriptor);
        }

        cpu.Eip = entry.Eip;
    }
}
